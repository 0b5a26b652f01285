using System.Globalization;
using Hosting;
using Npgsql;

namespace Aggregator.Storage;

/// <summary>Who asks for a <see cref="DatabaseLease"/>: a name the same aggregator restarted has again, and its process.</summary>
/// <param name="Name">the machine and the address this process has bound (so no other process of the machine has it at once).</param>
public sealed record LeaseClaimant(string Name, int ProcessId)
{
    /// <summary>The claimant for this process, listening on <paramref name="hostname"/>:<paramref name="port"/>.</summary>
    public static LeaseClaimant Of(string hostname, int port) =>
        new($"{Environment.MachineName}/{hostname}:{port.ToString(CultureInfo.InvariantCulture)}", Environment.ProcessId);
}

/// <summary>
/// A lone aggregator's hold on its PostgreSQL database, so that a second one started on the
/// same database by mistake is refused instead of taking the first one's lists (each list's
/// recovery would fence the other's writer: nothing lost, but the two would take the lists
/// from each other). A row of <c>aggregator_leases</c> names the holder and when its lease
/// lapses, by the database's clock; the holder renews it every fifth of its time, gives it up
/// when it stops, and a holder that died leaves it to lapse. The same claimant (the same
/// machine and bound address: a restart) takes it back at once. Journal fences, not
/// this lease, keep lists single-writer; the lease only spares the thrashing.
/// </summary>
public sealed class DatabaseLease : IAsyncDisposable
{
    /// <summary>The key production uses; specs use keys of their own, on a database other tests share.</summary>
    public const string LoneAggregatorKey = "lone-aggregator";

    private const string TimeKey = "actors.aggregator.database-lease";

    /// <summary>The lease's time from the file: at least a second (it is renewed every fifth of it).</summary>
    /// <exception cref="ConfigurationException">not a duration, or under a second.</exception>
    public static TimeSpan TimeFrom(HoconFile file)
    {
        var time = file.GetTimeSpan(TimeKey);
        return time >= TimeSpan.FromSeconds(1) ? time
            : throw new ConfigurationException(file.Path, null, TimeKey, $"{time.TotalMilliseconds:0} ms is too short: at least 1s (it is renewed every fifth of it)");
    }

    private readonly NpgsqlDataSource _source;
    private readonly string _key;

    // This process's own: renewals and the release need it, so that of two processes with one
    // name (cloned machines, containers given one hostname) the one that took the lease last
    // holds it and the other finds it taken.
    private readonly Guid _token = Guid.NewGuid();

    private DatabaseLease(NpgsqlDataSource source, string key, LeaseClaimant claimant, TimeSpan time)
    {
        _source = source;
        _key = key;
        Claimant = claimant;
        Time = time;
    }

    public LeaseClaimant Claimant { get; }

    /// <summary>How long the lease lasts without renewal.</summary>
    public TimeSpan Time { get; }

    /// <summary>How often the holder renews it: a fifth of its time.</summary>
    public TimeSpan RenewEvery => Time / 5;

    /// <summary>
    /// Takes the lease. Held by another claimant, it waits for that lease to lapse, and gives
    /// up as soon as the holder renews it (within a renewal period, a fifth of the time);
    /// <paramref name="waiting"/> hears why it waits, once for each holder it waits for.
    /// </summary>
    /// <exception cref="StartupException">another aggregator holds it and renews it, or the database cannot be used.</exception>
    public static async Task<DatabaseLease> TakeAsync(string connectionString, string key, LeaseClaimant claimant, TimeSpan time,
        Action<string> waiting, CancellationToken cancellation)
    {
        var source = NpgsqlDataSource.Create(connectionString);
        var lease = new DatabaseLease(source, key, claimant, time);
        try
        {
            await lease.CreateTableAsync(cancellation);
            var giveUp = DateTime.UtcNow + 2 * time;
            Holder? first = null;
            while (true)
            {
                var holder = await lease.TryTakeAsync(cancellation);
                if (holder is null)
                {
                    return lease;
                }

                // A holder that renews while this one waits is alive; one that does not has
                // died (or lost its database): its lease lapses by itself.
                if (first is not null && holder.Name == first.Name && holder.RenewedAt != first.RenewedAt)
                {
                    throw new StartupException(
                        $"another aggregator uses this PostgreSQL database: {holder.Name} (process {holder.ProcessId}), which renews its lease. Give each lone aggregator a database of its own, or set actors.aggregator.load-lists-at-start = off on both (docs/operations.md, \"PostgreSQL\")");
                }

                if (DateTime.UtcNow > giveUp)
                {
                    throw new StartupException(
                        $"the PostgreSQL database's lease did not come free: it is held by {holder.Name} (process {holder.ProcessId}), and lapses in {Seconds(holder.LapsesIn)} (docs/operations.md, \"PostgreSQL\")");
                }

                if (holder.Name != first?.Name)
                {
                    // A holder seen for the first time (a dead one's lease may pass to a third
                    // aggregator meanwhile): its own lease time bounds the wait.
                    first = holder;
                    giveUp = Max(giveUp, DateTime.UtcNow + holder.LapsesIn + lease.RenewEvery + TimeSpan.FromSeconds(1));
                    waiting($"The PostgreSQL database's lease is held by {holder.Name} (process {holder.ProcessId}), renewed {Seconds(holder.RenewedAgo)} ago; waiting up to {Seconds(holder.LapsesIn)} for it to lapse (should it be renewed meanwhile, that aggregator is alive and this one stops)");
                }

                await Task.Delay(Min(holder.LapsesIn, lease.RenewEvery) + TimeSpan.FromMilliseconds(100), cancellation);
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

    /// <summary>Moves the lapse on by the lease's time: false if another aggregator holds it now (this one lost it).</summary>
    /// <exception cref="NpgsqlException">the database did not answer: try again.</exception>
    public async Task<bool> RenewAsync(CancellationToken cancellation)
    {
        await using var command = _source.CreateCommand(
            "UPDATE aggregator_leases SET renewed_at = now(), lapses_at = now() + @time WHERE key = @key AND token = @token");
        Parameters(command);
        command.Parameters.AddWithValue("time", Time);
        return await command.ExecuteNonQueryAsync(cancellation) == 1;
    }

    /// <summary>Gives the lease up (if still held), so that another aggregator may start at once.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var command = _source.CreateCommand("DELETE FROM aggregator_leases WHERE key = @key AND token = @token");
            Parameters(command);
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

    /// <summary>Who holds the lease, from the database's clock.</summary>
    /// <param name="RenewedAt">when, by the database's clock (seconds since 1970).</param>
    private sealed record Holder(string Name, int ProcessId, double RenewedAt, TimeSpan RenewedAgo, TimeSpan LapsesIn);

    /// <returns>null once taken, else the holder that has it.</returns>
    private async Task<Holder?> TryTakeAsync(CancellationToken cancellation)
    {
        await using var batch = _source.CreateBatch();
        var take = new NpgsqlBatchCommand("""
            INSERT INTO aggregator_leases AS l (key, holder, token, process_id, renewed_at, lapses_at)
            VALUES (@key, @holder, @token, @pid, now(), now() + @time)
            ON CONFLICT (key) DO UPDATE SET holder = @holder, token = @token, process_id = @pid, renewed_at = now(), lapses_at = now() + @time
            WHERE l.holder = @holder OR l.lapses_at < now()
            """);
        take.Parameters.AddWithValue("key", _key);
        take.Parameters.AddWithValue("holder", Claimant.Name);
        take.Parameters.AddWithValue("token", _token);
        take.Parameters.AddWithValue("pid", Claimant.ProcessId);
        take.Parameters.AddWithValue("time", Time);
        batch.BatchCommands.Add(take);
        var read = new NpgsqlBatchCommand("""
            SELECT holder, process_id, token, EXTRACT(EPOCH FROM renewed_at)::float8,
                   EXTRACT(EPOCH FROM now() - renewed_at)::float8, EXTRACT(EPOCH FROM lapses_at - now())::float8
            FROM aggregator_leases WHERE key = @key
            """);
        read.Parameters.AddWithValue("key", _key);
        batch.BatchCommands.Add(read);
        await using var reader = await batch.ExecuteReaderAsync(cancellation);
        if (!await reader.ReadAsync(cancellation))
        {
            // The batch is one transaction: the row it has just written or kept is there.
            throw new InvalidOperationException("the lease's row was not found right after it was written");
        }

        return reader.GetGuid(2) == _token
            ? null
            : new Holder(reader.GetString(0), reader.GetInt32(1), reader.GetDouble(3),
                TimeSpan.FromSeconds(Math.Max(0, reader.GetDouble(4))), TimeSpan.FromSeconds(Math.Max(0, reader.GetDouble(5))));
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

    private void Parameters(NpgsqlCommand command)
    {
        command.Parameters.AddWithValue("key", _key);
        command.Parameters.AddWithValue("token", _token);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s";
}
