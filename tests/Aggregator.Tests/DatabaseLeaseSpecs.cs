using System.Diagnostics;
using Aggregator.Storage;
using Hosting;
using Npgsql;

namespace Aggregator.Tests;

/// <summary>
/// A lone aggregator's and a cluster node's lease on their PostgreSQL database
/// (<see cref="DatabaseLease"/>), against a real server. Each spec leases in a scope of its
/// own: the database is shared with other tests.
/// </summary>
public sealed class DatabaseLeaseSpecs
{
    private static readonly TimeSpan Time = TimeSpan.FromSeconds(3);
    private readonly string _scope = $"spec-{Guid.NewGuid():N}/";
    private readonly List<string> _waits = [];

    [PostgresFact]
    public async Task A_second_claimant_should_be_refused_while_the_holder_renews()
    {
        await using var holder = await TakeAsync("machine-a/127.0.0.1:25520");
        var clock = Stopwatch.StartNew();
        StartupException refused;
        await using (Renewals.Of(holder))
        {
            refused = await Assert.ThrowsAsync<StartupException>(() => TakeAsync("machine-b/127.0.0.1:25520"));
        }

        // Refused once it has seen a renewal (one renewal period and a poll), long before the lease would lapse.
        Assert.True(clock.Elapsed < Time, $"refused after {clock.Elapsed}");
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

    [PostgresFact]
    public async Task A_cluster_node_should_be_refused_while_a_lone_aggregator_renews()
    {
        await using var lone = await TakeAsync("machine-a/127.0.0.1:25520");
        StartupException refused;
        await using (Renewals.Of(lone))
        {
            refused = await Assert.ThrowsAsync<StartupException>(() => TakeAsync("machine-b/127.0.0.1:2552", LeaseRole.ClusterNode));
        }

        Assert.StartsWith("a lone aggregator uses this PostgreSQL database: machine-a/127.0.0.1:25520 (process ", refused.Message);
        Assert.Contains("give the cluster a database of its own", refused.Message);
        Assert.Contains("held by the lone aggregator machine-a/127.0.0.1:25520", Assert.Single(_waits));
        Assert.True(await lone.RenewAsync(CancellationToken.None));
    }

    [PostgresFact]
    public async Task Nodes_should_hold_leases_side_by_side_and_a_lone_aggregator_be_refused_while_one_renews()
    {
        var clock = Stopwatch.StartNew();
        await using var dead = await TakeAsync("machine-a/127.0.0.1:2552", LeaseRole.ClusterNode);
        await using var alive = await TakeAsync("machine-b/127.0.0.1:2552", LeaseRole.ClusterNode);
        Assert.True(clock.Elapsed < Time / 2, $"took {clock.Elapsed}");
        Assert.Empty(_waits);

        // One node renews nothing (killed), the other renews: refused once that one has renewed,
        // without waiting for the dead one's lapse.
        clock.Restart();
        StartupException refused;
        await using (Renewals.Of(alive))
        {
            refused = await Assert.ThrowsAsync<StartupException>(() => TakeAsync("machine-c/127.0.0.1:25520"));
        }

        Assert.True(clock.Elapsed < Time - TimeSpan.FromMilliseconds(500), $"refused after {clock.Elapsed}");
        Assert.StartsWith("a cluster uses this PostgreSQL database: its node machine-b/127.0.0.1:2552 (process ", refused.Message);
        Assert.Contains("(--cluster)", refused.Message);
        Assert.Equal(2, _waits.Count);
        Assert.Contains("held by the cluster node machine-a/127.0.0.1:2552", _waits[0]);
        Assert.Contains("held by the cluster node machine-b/127.0.0.1:2552", _waits[1]);
        Assert.True(await alive.RenewAsync(CancellationToken.None));
    }

    [PostgresFact]
    public async Task A_lone_aggregator_should_take_the_database_once_the_nodes_leases_lapse_and_a_node_woken_then_lose_its_own()
    {
        var paused = await TakeAsync("machine-a/127.0.0.1:2552", LeaseRole.ClusterNode);
        var clock = Stopwatch.StartNew();

        await using var lone = await TakeAsync("machine-c/127.0.0.1:25520");

        Assert.True(clock.Elapsed >= Time - TimeSpan.FromMilliseconds(200), $"took it after {clock.Elapsed}, before the lapse");
        Assert.True(clock.Elapsed < Time + TimeSpan.FromSeconds(2), $"took it after {clock.Elapsed}");
        Assert.Contains("held by the cluster node machine-a/127.0.0.1:2552", Assert.Single(_waits));
        Assert.False(await paused.RenewAsync(CancellationToken.None));
        Assert.True(await lone.RenewAsync(CancellationToken.None));
        await paused.DisposeAsync();
    }

    [PostgresFact]
    public async Task A_take_should_wait_for_the_lock_of_a_node_taking_its_lease_and_see_its_row()
    {
        // The table made (a spec may run first on a fresh database), and nothing held in this scope.
        await (await TakeAsync("machine-z/127.0.0.1:25520")).DisposeAsync();

        // A node taking its lease at this very moment: the lock held, its row written, not committed.
        await using var node = new NpgsqlConnection(PostgresFactAttribute.ConnectionString!);
        await node.OpenAsync();
        await using var transaction = await node.BeginTransactionAsync();
        await ExecuteAsync(node, "SELECT pg_advisory_xact_lock(@value)", DatabaseLease.LockId);
        await ExecuteAsync(node, $"""
            INSERT INTO aggregator_leases (key, holder, token, process_id, renewed_at, lapses_at)
            VALUES (@value, 'machine-b/127.0.0.1:2552', gen_random_uuid(), 1, now(), now() + interval '1 minute')
            """, _scope + "cluster-node machine-b/127.0.0.1:2552");
        var application = $"lease-spec-{Guid.NewGuid():N}";
        var taking = TakeAsync("machine-a/127.0.0.1:25520", connectionString: new NpgsqlConnectionStringBuilder(PostgresFactAttribute.ConnectionString!)
        {
            ApplicationName = application,
        }.ToString());

        // The lone aggregator's take waits for the lock (without it, it would not see the row and
        // take the database). Watched from another connection: a transaction sees one
        // pg_stat_activity throughout.
        await using var observer = new NpgsqlConnection(PostgresFactAttribute.ConnectionString!);
        await observer.OpenAsync();
        await UntilAsync(async () => (long)(await ScalarAsync(observer, """
            SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = @value
            """, application))! > 0, "the take never waited for the lock");
        Assert.False(taking.IsCompleted);
        await transaction.CommitAsync();

        // Then it sees the node's row, and waits for its lapse.
        await UntilAsync(() => Task.FromResult(Waits().Count > 0), "the take never said what it waits for");
        Assert.Contains("held by the cluster node machine-b/127.0.0.1:2552", Assert.Single(Waits()));
        Assert.False(taking.IsCompleted);

        await ExecuteAsync(observer, "DELETE FROM aggregator_leases WHERE key = @value", _scope + "cluster-node machine-b/127.0.0.1:2552");
        await using var lease = await taking.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private Task<DatabaseLease> TakeAsync(string name, LeaseRole role = LeaseRole.LoneAggregator, string? connectionString = null) =>
        DatabaseLease.TakeAsync(connectionString ?? PostgresFactAttribute.ConnectionString!, _scope, new LeaseClaimant(name, Environment.ProcessId, role), Time,
            message =>
            {
                lock (_waits)
                {
                    _waits.Add(message);
                }
            }, CancellationToken.None);

    private List<string> Waits()
    {
        lock (_waits)
        {
            return [.. _waits];
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms for up to 10 s; fails with <paramref name="failure"/> after that.</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), failure);
            await Task.Delay(20);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, object value)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("value", value);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, object value)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("value", value);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>A holder alive: renews its lease every 100 ms until disposed, each renewal required to hold it.</summary>
    private sealed class Renewals : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private Renewals(DatabaseLease lease) => _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Assert.True(await lease.RenewAsync(CancellationToken.None), "a renewal found the lease taken");
                await Task.Delay(100, CancellationToken.None);
            }
        });

        public static Renewals Of(DatabaseLease lease) => new(lease);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop.WaitAsync(TimeSpan.FromSeconds(10));
            _stop.Dispose();
        }
    }
}
