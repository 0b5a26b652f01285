using Aggregator.Storage;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.Hosting;

namespace Aggregator.Service;

/// <summary>
/// Renews a lone aggregator's or a cluster node's <see cref="DatabaseLease"/> every fifth of its time, each try
/// bounded by that period. While the database does not answer it keeps trying (one warning,
/// then one line when it answers again); should another aggregator hold the lease by then,
/// this one stops, exit 1 (<see cref="LeaseLostReason"/>): the other has taken its lists.
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
                    // Bounded by the period: a connection that hangs must not outlast the lease unseen.
                    using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                    bounded.CancelAfter(lease.RenewEvery);
                    held = await lease.RenewAsync(bounded.Token);
                }
                catch (Exception e) when (!stopping.IsCancellationRequested)
                {
                    if (failingSince is null)
                    {
                        failingSince = DateTime.UtcNow;
                        system.Log.Warning("Cannot renew this aggregator's lease on its PostgreSQL database ({0}); trying again every {1:0.#} s. It lapses {2:0.#} s after the last renewal",
                            e is OperationCanceledException ? $"no answer within {lease.RenewEvery.TotalSeconds:0.#} s" : e.GetBaseException().Message,
                            lease.RenewEvery.TotalSeconds, lease.Time.TotalSeconds);
                    }

                    continue;
                }

                if (!held)
                {
                    system.Log.Error("This aggregator lost its lease on its PostgreSQL database (another aggregator holds it now, or a lone aggregator took the database while this node's lease had lapsed); stopping");
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

/// <summary>Why an aggregator stopped: another one holds its database's lease, or took the database from this cluster node.</summary>
public sealed class LeaseLostReason : CoordinatedShutdown.Reason
{
    public static readonly LeaseLostReason Instance = new();

    private LeaseLostReason()
    {
    }

    public override int ExitCode => 1;

    public const string Message =
        "another aggregator took this one's lease on its PostgreSQL database (this one could not renew it in time: the database was out of reach, or this process was paused; or one of the same name, machine and address, started; or, for a cluster's node, a lone aggregator took the database meanwhile) and now serves its lists. Give each lone aggregator, and each cluster, a database of its own";
}
