using System.Data;
using Hosting;
using Npgsql;

namespace Aggregator.Storage;

/// <summary>
/// An aggregator's hold on its PostgreSQL database, so that a second lone aggregator, or a
/// lone aggregator and a cluster, started on the same database by mistake are refused instead
/// of taking each other's lists (each list's recovery would fence the other's writer: nothing
/// lost, but the two would take the lists from each other). A lone aggregator holds the one
/// row <c>lone-aggregator</c> of <c>aggregator_leases</c>; each node of a cluster holds a row of
/// its own, and none may be alive while the lone one is. A row names its holder and when its
/// lease lapses, by the database's clock; the holder renews it every fifth of its time, gives
/// it up when it stops, and a holder that died leaves it to lapse. The same claimant (the same
/// machine and bound address: a restart) takes it back at once. Takes and renewals are
/// READ COMMITTED transactions that first take an advisory lock, so that a lone aggregator and
/// a node starting at the same moment cannot both miss each other. Journal fences, not this
/// lease, keep lists single-writer; the lease only spares the thrashing.
/// </summary>
public sealed class DatabaseLease : IAsyncDisposable
{
    /// <summary>The scope production uses: the whole database. Specs use scopes of their own, on a database other tests share.</summary>
    public const string WholeDatabase = "";

    /// <summary>The advisory lock that takes and renewals hold ("actors" and 1).</summary>
    internal const long LockId = 0x6163746F72730001;

    private const string TimeKey = "actors.aggregator.database-lease";

    /// <summary>A live row of the other role's, within the lease's scope (SQL).</summary>
    private const string OthersAlive = "SELECT 1 FROM aggregator_leases WHERE starts_with(key, @others) AND lapses_at > now()";

    /// <summary>The lease's time from the file: at least a second (it is renewed every fifth of it).</summary>
    /// <exception cref="ConfigurationException">not a duration, or under a second.</exception>
    public static TimeSpan TimeFrom(HoconFile file)
    {
        var time = file.GetTimeSpan(TimeKey);
        return time >= TimeSpan.FromSeconds(1) ? time
            : throw new ConfigurationException(file.Path, null, TimeKey, $"{time.TotalMilliseconds:0} ms is too short: at least 1s (it is renewed every fifth of it)");
    }

    private readonly NpgsqlDataSource _source;
    private readonly string _scope;
    private readonly string _key;
    private readonly string _others;

    // This process's own: renewals and the release need it, so that of two processes with one
    // name (cloned machines, containers given one hostname) the one that took the lease last
    // holds it and the other finds it taken.
    private readonly Guid _token = Guid.NewGuid();

    private DatabaseLease(NpgsqlDataSource source, string scope, LeaseClaimant claimant, TimeSpan time)
    {
        _source = source;
        _scope = scope;
        _key = claimant.Key(scope);
        _others = claimant.OthersKeyPrefix(scope);
        Claimant = claimant;
        Time = time;
    }

    public LeaseClaimant Claimant { get; }

    /// <summary>How long the lease lasts without renewal.</summary>
    public TimeSpan Time { get; }

    /// <summary>How often the holder renews it: a fifth of its time.</summary>
    public TimeSpan RenewEvery => Time / 5;

    /// <summary>
    /// Takes the lease. Kept from it by other holders (for a lone aggregator, another lone one
    /// or a cluster's nodes; for a node, a lone aggregator), it waits for their leases to lapse,
    /// and gives up as soon as one of them renews (within a renewal period, a fifth of the
    /// time); <paramref name="waiting"/> hears why it waits, once for each holder it waits for.
    /// </summary>
    /// <param name="scope"><see cref="WholeDatabase"/> but in specs.</param>
    /// <exception cref="StartupException">another aggregator holds it and renews it, or the database cannot be used.</exception>
    public static async Task<DatabaseLease> TakeAsync(string connectionString, string scope, LeaseClaimant claimant, TimeSpan time,
        Action<string> waiting, CancellationToken cancellation)
    {
        var source = NpgsqlDataSource.Create(connectionString);
        var lease = new DatabaseLease(source, scope, claimant, time);
        try
        {
            await lease.CreateTableAsync(cancellation);
            var giveUp = DateTime.UtcNow + 2 * time;

            // Each holder seen, and its renewal then: one that renews while this one waits is
            // alive; one that does not has died (or lost its database), and its lease lapses.
            var seen = new Dictionary<(string Key, string Name), double>();
            while (true)
            {
                var holders = await lease.TryTakeAsync(cancellation);
                if (holders is null)
                {
                    return lease;
                }

                if (holders.FirstOrDefault(h => seen.TryGetValue((h.Key, h.Name), out var renewedAt) && renewedAt != h.RenewedAt) is { } alive)
                {
                    throw new StartupException(alive.RefusalTo(claimant.Role));
                }

                if (DateTime.UtcNow > giveUp)
                {
                    throw new StartupException(holders.Count > 0
                        ? holders[0].NotFreeTo(claimant.Role)
                        : "the PostgreSQL database's lease could not be taken: it kept changing hands (docs/operations.md, \"PostgreSQL\")");
                }

                foreach (var holder in holders.Where(h => seen.TryAdd((h.Key, h.Name), h.RenewedAt)))
                {
                    // A holder seen for the first time (a dead one's lease may pass to a third
                    // aggregator meanwhile): its own lease time bounds the wait.
                    giveUp = Max(giveUp, DateTime.UtcNow + holder.LapsesIn + lease.RenewEvery + TimeSpan.FromSeconds(1));
                    waiting(holder.WaitingFor(claimant.Role));
                }

                // None: what kept it from its row went between its write and its look (a node that stopped); at once again.
                var wait = holders.Count == 0 ? TimeSpan.Zero : Min(holders.Min(h => h.LapsesIn), lease.RenewEvery);
                await Task.Delay(wait + TimeSpan.FromMilliseconds(100), cancellation);
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            await source.DisposeAsync();
            throw new StartupException($"cannot take the PostgreSQL database's lease: {e.GetBaseException().Message}", e);
        }
        catch
        {
            await source.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Moves the lapse on by the lease's time: false if another aggregator holds it now, or one
    /// of the other role took the database while this one's lease had lapsed (this one lost it).
    /// </summary>
    /// <exception cref="NpgsqlException">the database did not answer: try again.</exception>
    public Task<bool> RenewAsync(CancellationToken cancellation) => InLockedTransactionAsync(async (connection, transaction) =>
    {
        await using var renew = new NpgsqlCommand($"""
            UPDATE aggregator_leases SET renewed_at = now(), lapses_at = now() + @time
            WHERE key = @key AND token = @token AND NOT EXISTS ({OthersAlive})
            """, connection, transaction);
        Parameters(renew.Parameters, "key", "token", "others", "time");
        return await renew.ExecuteNonQueryAsync(cancellation) == 1;
    }, cancellation);

    /// <summary>Gives the lease up (if still held), so that another aggregator may start at once.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var command = _source.CreateCommand("DELETE FROM aggregator_leases WHERE key = @key AND token = @token");
            Parameters(command.Parameters, "key", "token");
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await command.ExecuteNonQueryAsync(bounded.Token);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or InvalidOperationException or TimeoutException)
        {
            // The database is gone: the lease lapses by itself.
        }
        finally
        {
            await _source.DisposeAsync();
        }
    }

    /// <returns>null once taken, else the holders that keep it from this claimant (none: try again).</returns>
    private Task<List<LeaseHolder>?> TryTakeAsync(CancellationToken cancellation) => InLockedTransactionAsync(async (connection, transaction) =>
    {
        // Rows of holders long gone (machines renamed, containers replaced) are dropped on the way.
        await using var take = new NpgsqlCommand($"""
            DELETE FROM aggregator_leases WHERE starts_with(key, @scope) AND lapses_at < now() - interval '1 day';
            INSERT INTO aggregator_leases AS l (key, holder, token, process_id, renewed_at, lapses_at)
            SELECT @key, @holder, @token, @pid, now(), now() + @time WHERE NOT EXISTS ({OthersAlive})
            ON CONFLICT (key) DO UPDATE SET holder = @holder, token = @token, process_id = @pid, renewed_at = now(), lapses_at = now() + @time
            WHERE l.holder = @holder OR l.lapses_at < now();
            SELECT key, holder, process_id, token, EXTRACT(EPOCH FROM renewed_at)::float8,
                   EXTRACT(EPOCH FROM now() - renewed_at)::float8, EXTRACT(EPOCH FROM lapses_at - now())::float8
            FROM aggregator_leases WHERE key = @key OR (starts_with(key, @others) AND lapses_at > now())
            ORDER BY key
            """, connection, transaction);
        Parameters(take.Parameters, "scope", "key", "holder", "token", "pid", "time", "others");
        var holders = new List<LeaseHolder>();
        await using var reader = await take.ExecuteReaderAsync(cancellation);
        while (await reader.ReadAsync(cancellation))
        {
            var own = reader.GetString(0) == _key;
            if (own && reader.GetGuid(3) == _token)
            {
                return null;
            }

            // This claimant's row held by another until it lapses (a take needs it past its lapse), or a live row of the other role.
            if (!own || reader.GetDouble(6) >= 0)
            {
                holders.Add(new LeaseHolder(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), LeaseClaimant.RoleOf(reader.GetString(0), _scope),
                    reader.GetDouble(4), TimeSpan.FromSeconds(Math.Max(0, reader.GetDouble(5))), TimeSpan.FromSeconds(reader.GetDouble(6))));
            }
        }

        return holders;
    }, cancellation);

    /// <summary>
    /// Runs <paramref name="work"/> in a READ COMMITTED transaction (whatever the database's
    /// default) that holds the lease's advisory lock from its start to its end: each statement
    /// after the lock sees what the lock's previous holder committed.
    /// </summary>
    private async Task<T> InLockedTransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellation)
    {
        await using var connection = await _source.OpenConnectionAsync(cancellation);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellation);
        await using (var locking = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@lock)", connection, transaction))
        {
            locking.Parameters.AddWithValue("lock", LockId);
            await locking.ExecuteNonQueryAsync(cancellation);
        }

        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellation);
        return result;
    }

    /// <summary>Creates the table unless it exists.</summary>
    private async Task CreateTableAsync(CancellationToken cancellation)
    {
        await using (var connection = await _source.OpenConnectionAsync(cancellation))
        {
            if (await PostgresDatabase.TablesExistAsync(connection, cancellation, "aggregator_leases"))
            {
                return;
            }
        }

        await using var command = _source.CreateCommand("""
            CREATE TABLE IF NOT EXISTS aggregator_leases (
              key TEXT NOT NULL PRIMARY KEY, holder TEXT NOT NULL, token UUID NOT NULL, process_id INTEGER NOT NULL,
              renewed_at TIMESTAMPTZ NOT NULL, lapses_at TIMESTAMPTZ NOT NULL)
            """);
        try
        {
            await command.ExecuteNonQueryAsync(cancellation);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
        {
            // Another aggregator created it at the same moment.
        }
    }

    /// <summary>Adds the named parameters (those a statement uses) with this lease's values.</summary>
    private void Parameters(NpgsqlParameterCollection parameters, params string[] names)
    {
        foreach (var name in names)
        {
            parameters.AddWithValue(name, name switch
            {
                "scope" => _scope,
                "key" => _key,
                "token" => _token,
                "others" => _others,
                "time" => Time,
                "holder" => Claimant.Name,
                "pid" => (object)Claimant.ProcessId,
                _ => throw new ArgumentOutOfRangeException(nameof(names), name, "not a parameter of the lease's statements"),
            });
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;
}
