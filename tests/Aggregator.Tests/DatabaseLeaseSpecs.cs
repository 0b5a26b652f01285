using System.Diagnostics;
using Aggregator.Storage;
using Hosting;

namespace Aggregator.Tests;

/// <summary>
/// A lone aggregator's lease on its PostgreSQL database (<see cref="DatabaseLease"/>), against
/// a real server. Each spec leases a key of its own: the database is shared with other tests.
/// </summary>
public sealed class DatabaseLeaseSpecs
{
    private static readonly TimeSpan Time = TimeSpan.FromSeconds(2);
    private readonly string _key = $"spec-{Guid.NewGuid():N}";
    private readonly List<string> _waits = [];

    [PostgresFact]
    public async Task A_second_claimant_should_be_refused_while_the_holder_renews()
    {
        await using var holder = await TakeAsync("machine-a/127.0.0.1:25520");
        using var stop = new CancellationTokenSource();
        var renewing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Assert.True(await holder.RenewAsync(CancellationToken.None));
                await Task.Delay(100, CancellationToken.None);
            }
        });
        var clock = Stopwatch.StartNew();

        var refused = await Assert.ThrowsAsync<StartupException>(() => TakeAsync("machine-b/127.0.0.1:25520"));

        // Refused once it has seen a renewal (one renewal period and a poll), long before the lease would lapse.
        Assert.True(clock.Elapsed < Time, $"refused after {clock.Elapsed}");
        await stop.CancelAsync();
        await renewing.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("another aggregator uses this PostgreSQL database: machine-a/127.0.0.1:25520 (process ", refused.Message);
        Assert.Contains("a database of its own", refused.Message);
        Assert.Single(_waits);
        Assert.True(await holder.RenewAsync(CancellationToken.None));
    }

    [PostgresFact]
    public async Task The_same_claimant_restarted_should_take_the_lease_back_at_once()
    {
        var first = await TakeAsync("machine-a/127.0.0.1:25520");
        var clock = Stopwatch.StartNew();

        // A SIGKILL gives nothing up: the restarted process finds its own name on the lease.
        await using var restarted = await TakeAsync("machine-a/127.0.0.1:25520");

        Assert.True(clock.Elapsed < Time / 2, $"took {clock.Elapsed}");
        Assert.Empty(_waits);
        Assert.True(await restarted.RenewAsync(CancellationToken.None));

        // Had the first been alive after all (two processes of one name: cloned machines), it
        // finds the lease taken at its next renewal, and its release leaves the lease alone.
        Assert.False(await first.RenewAsync(CancellationToken.None));
        await first.DisposeAsync();
        Assert.True(await restarted.RenewAsync(CancellationToken.None));
    }

    [PostgresFact]
    public async Task A_holder_that_stopped_renewing_should_lose_the_lease_when_it_lapses()
    {
        var dead = await TakeAsync("machine-a/127.0.0.1:25520");
        var clock = Stopwatch.StartNew();

        await using var next = await TakeAsync("machine-b/127.0.0.1:25520");

        // From below as well as above: not before the lapse, and soon after it.
        Assert.True(clock.Elapsed >= Time - TimeSpan.FromMilliseconds(200), $"took it after {clock.Elapsed}, before the lapse");
        Assert.True(clock.Elapsed < Time + TimeSpan.FromSeconds(2), $"took it after {clock.Elapsed}");
        var wait = Assert.Single(_waits);
        Assert.Contains("held by machine-a/127.0.0.1:25520", wait);
        Assert.False(await dead.RenewAsync(CancellationToken.None));
        Assert.True(await next.RenewAsync(CancellationToken.None));

        // The old holder, stopping after all, does not give up the new holder's lease.
        await dead.DisposeAsync();
        Assert.True(await next.RenewAsync(CancellationToken.None));
    }

    [PostgresFact]
    public async Task A_holder_that_stops_should_give_the_lease_up()
    {
        var holder = await TakeAsync("machine-a/127.0.0.1:25520");
        await holder.DisposeAsync();
        var clock = Stopwatch.StartNew();

        await using var next = await TakeAsync("machine-b/127.0.0.1:25520");

        Assert.True(clock.Elapsed < Time / 2, $"took {clock.Elapsed}");
        Assert.Empty(_waits);
    }

    [Fact]
    public async Task A_database_out_of_reach_should_stop_the_start_with_its_reason()
    {
        var connection = $"Host=127.0.0.1;Port={FreePort()};Username=nobody;Database=none;Timeout=2";

        var refused = await Assert.ThrowsAsync<StartupException>(() => DatabaseLease.TakeAsync(connection, _key,
            new LeaseClaimant("machine-a/127.0.0.1:25520", 1), Time, _waits.Add, CancellationToken.None));

        Assert.StartsWith("cannot take the PostgreSQL database's lease: ", refused.Message);
        Assert.Empty(_waits);
    }

    [Theory]
    [InlineData("500ms", "500 ms is too short: at least 1s")]
    [InlineData("soon", "'soon' is not a duration")]
    public void A_lease_time_under_a_second_or_not_a_duration_should_be_refused(string value, string message)
    {
        var path = Path.Combine(Path.GetTempPath(), $"lease-{Guid.NewGuid():N}.hocon");
        File.WriteAllText(path, $"actors.aggregator.database-lease = {value}\n");
        try
        {
            var refused = Assert.Throws<ConfigurationException>(() => DatabaseLease.TimeFrom(HoconFile.Load(path, "aggregator.hocon")));

            Assert.Contains("actors.aggregator.database-lease", refused.Message);
            Assert.Contains(message, refused.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_shipped_lease_time_should_be_15_s() =>
        Assert.Equal(TimeSpan.FromSeconds(15), DatabaseLease.TimeFrom(HoconFile.Shipped("aggregator.hocon")));

    [Fact]
    public void A_claimant_should_be_named_by_its_machine_and_the_address_it_has_bound()
    {
        var claimant = LeaseClaimant.Of("127.0.0.1", 25520);

        Assert.Equal($"{Environment.MachineName}/127.0.0.1:25520", claimant.Name);
        Assert.Equal(Environment.ProcessId, claimant.ProcessId);
    }

    private Task<DatabaseLease> TakeAsync(string name) => DatabaseLease.TakeAsync(PostgresFactAttribute.ConnectionString!, _key,
        new LeaseClaimant(name, Environment.ProcessId), Time, message =>
        {
            lock (_waits)
            {
                _waits.Add(message);
            }
        }, CancellationToken.None);

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A fact that needs a PostgreSQL server: skipped, saying how to run it, when none is given.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!PostgresTheoryAttribute.Configured)
        {
            Skip = PostgresTheoryAttribute.SkipReason;
        }
    }

    public static string? ConnectionString => PostgresTheoryAttribute.ConnectionString;
}
