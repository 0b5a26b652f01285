using Aggregator.Storage;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Aggregator.Service;

/// <summary>
/// Renews a lone aggregator's <see cref="DatabaseLease"/> every fifth of its time. While the
/// database does not answer it keeps trying (one warning, then one line when it answers
/// again); should another aggregator hold the lease by then, this one stops, exit 1
/// (<see cref="LeaseLostReason"/>): the other has taken its lists.
/// </summary>
public sealed class LeaseKeeper(DatabaseLease lease, ActorSystem system) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(lease.RenewEvery);
        var failingSince = (DateTime?)null;
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                bool held;
                try
                {
                    held = await lease.RenewAsync(stopping);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    if (failingSince is null)
                    {
                        failingSince = DateTime.UtcNow;
                        system.Log.Warning("Cannot renew this aggregator's lease on its PostgreSQL database ({0}); trying again every {1:0.#} s. It lapses {2:0.#} s after the last renewal",
                            e.GetBaseException().Message, lease.RenewEvery.TotalSeconds, lease.Time.TotalSeconds);
                    }

                    continue;
                }

                if (!held)
                {
                    system.Log.Error("Another aggregator took this one's lease on its PostgreSQL database while it could not renew it; stopping");
                    await CoordinatedShutdown.Get(system).Run(LeaseLostReason.Instance);
                    return;
                }

                if (failingSince is { } since)
                {
                    failingSince = null;
                    system.Log.Info("Renewed this aggregator's lease on its PostgreSQL database again, after {0:0.#} s", (DateTime.UtcNow - since).TotalSeconds);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The host stops: Program gives the lease up once the actor system has stopped.
        }
    }
}

/// <summary>Why a lone aggregator stopped: another one holds its database's lease.</summary>
public sealed class LeaseLostReason : CoordinatedShutdown.Reason
{
    public static readonly LeaseLostReason Instance = new();

    private LeaseLostReason()
    {
    }

    public override int ExitCode => 1;

    public const string Message =
        "another aggregator took this one's lease on its PostgreSQL database (it could not renew it in time: the database was out of reach, or this process was paused) and now serves its lists. Give each lone aggregator a database of its own";
}
