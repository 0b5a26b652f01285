using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Aggregator.Storage;

/// <summary>One event as the journal's table holds it.</summary>
/// <param name="Items">the packed items of an ItemsAppended event, kept apart from its other fields so that recovery reads them into one array; null for other events.</param>
public sealed record JournalRow(long SequenceNr, int SerializerId, string Manifest, byte[] Payload, byte[]? Items);

/// <summary>The events of one persistence id to write at one epoch, in sequence order.</summary>
public sealed record JournalWrite(string PersistenceId, long Epoch, IReadOnlyList<JournalRow> Rows);

/// <summary>
/// The lists' journal in SQL, for SQLite and PostgreSQL alike: table <c>list_events</c> (one row
/// per event, primary key persistence id and sequence number) and table <c>list_writers</c> (per
/// persistence id, the writer's epoch and the highest sequence number ever written, which
/// survives deletes). Every write and delete is fenced: it changes the database only if its
/// epoch is still the persistence id's, checked in the same transaction, and a recovery
/// anywhere takes a new epoch first (<see cref="ClaimAsync"/>). A writer that lost its list to
/// another, whatever it believes and however long it was paused, can therefore never commit
/// again. Writes, claims and deletes go through one connection, one at a time (the caller
/// sees to it); reads take connections of their own.
/// </summary>
public sealed partial class JournalStore : IAsyncDisposable
{
    private readonly bool _postgres;
    private readonly string _connectionString;
    private readonly NpgsqlDataSource? _source;
    private DbConnection? _writer;

    private JournalStore(bool postgres, string connectionString)
    {
        _postgres = postgres;
        _connectionString = connectionString;
        _source = postgres ? NpgsqlDataSource.Create(connectionString) : null;
    }

    /// <param name="provider">SQLite (SQLite.MS, sqlite, …) or PostgreSQL (PostgreSQL.15, postgresql, …).</param>
    public static JournalStore Create(string provider, string connectionString) =>
        provider.StartsWith("postgres", StringComparison.OrdinalIgnoreCase) ? new(true, connectionString)
        : provider.StartsWith("sqlite", StringComparison.OrdinalIgnoreCase) ? new(false, connectionString)
        : throw new ArgumentException($"the lists' journal runs on SQLite or PostgreSQL, not '{provider}'", nameof(provider));

    /// <summary>Opens the writing connection and creates the tables that do not exist yet.</summary>
    public Task InitializeAsync(CancellationToken cancellation) => WithWriterAsync(() => true, async writer =>
    {
        if (_postgres && await PostgresDatabase.TablesExistAsync(writer, cancellation, "list_events", "list_writers"))
        {
            return true;
        }

        var blob = _postgres ? "BYTEA" : "BLOB";
        await ExecuteAsync(writer, null, $"""
            CREATE TABLE IF NOT EXISTS list_events (
              persistence_id TEXT NOT NULL, sequence_nr BIGINT NOT NULL, serializer_id INTEGER NOT NULL,
              manifest TEXT NOT NULL, payload {blob} NOT NULL, items {blob},
              PRIMARY KEY (persistence_id, sequence_nr));
            CREATE TABLE IF NOT EXISTS list_writers (
              persistence_id TEXT NOT NULL PRIMARY KEY, epoch BIGINT NOT NULL, highest BIGINT NOT NULL);
            """, cancellation);
        return true;
    }, cancellation);

    /// <summary>
    /// Takes the persistence id for a new writer: its epoch goes up by one, which fences every
    /// earlier writer. Returns the new epoch and the highest sequence number written.
    /// </summary>
    public Task<(long Epoch, long Highest)> ClaimAsync(string persistenceId, CancellationToken cancellation) => WithWriterAsync(() => true, async writer =>
    {
        await using var command = Command(writer, null, """
            INSERT INTO list_writers (persistence_id, epoch, highest) VALUES (@pid, 1, 0)
            ON CONFLICT (persistence_id) DO UPDATE SET epoch = list_writers.epoch + 1
            RETURNING epoch, highest
            """, ("pid", persistenceId));
        await using var reader = await command.ExecuteReaderAsync(cancellation);
        await reader.ReadAsync(cancellation);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }, cancellation);

    /// <summary>
    /// The persistence id's epoch now (0: never claimed), on a connection of its own: a writer
    /// whose epoch it still is holds the list, as a write would find.
    /// </summary>
    public async Task<long> EpochAsync(string persistenceId, CancellationToken cancellation)
    {
        await using var connection = await OpenAsync(cancellation);
        await using var command = Command(connection, null, "SELECT epoch FROM list_writers WHERE persistence_id = @pid", ("pid", persistenceId));
        return await command.ExecuteScalarAsync(cancellation) is long epoch ? epoch : 0;
    }

    /// <summary>
    /// Writes every event of <paramref name="writes"/> in one transaction, except those of a
    /// persistence id whose epoch has moved on: returns those ids (their events are not written).
    /// </summary>
    /// <exception cref="DbException">the transaction failed: nothing was written.</exception>
    /// <remarks>
    /// Runs again once at once when the writing connection, an old one, fails before the
    /// commit is sent (a server restarted, an idle connection dropped): nothing can have been
    /// written then. Never after: a commit whose outcome is unknown is not sent twice.
    /// </remarks>
    public Task<IReadOnlySet<string>> WriteAsync(IReadOnlyList<JournalWrite> writes, CancellationToken cancellation)
    {
        var committing = false;
        return WithWriterAsync(() => !committing, writer => WriteGroupAsync(writer, writes, () => committing = true, cancellation), cancellation);
    }

    private async Task<IReadOnlySet<string>> WriteGroupAsync(DbConnection writer, IReadOnlyList<JournalWrite> writes, Action committing, CancellationToken cancellation)
    {
        var fenced = new HashSet<string>(StringComparer.Ordinal);
        await using var transaction = await BeginAsync(writer, cancellation);
        await using var advance = Command(writer, transaction,
            "UPDATE list_writers SET highest = @highest WHERE persistence_id = @pid AND epoch = @epoch AND highest < @highest",
            ("highest", 0L), ("pid", ""), ("epoch", 0L));
        await using var insert = Command(writer, transaction, """
            INSERT INTO list_events (persistence_id, sequence_nr, serializer_id, manifest, payload, items)
            VALUES (@pid, @seq, @serializer, @manifest, @payload, @items)
            """, ("pid", ""), ("seq", 0L), ("serializer", 0), ("manifest", ""), ("payload", Array.Empty<byte>()), ("items", DBNull.Value));
        foreach (var write in writes)
        {
            if (write.Rows.Count == 0)
            {
                continue;
            }

            Set(advance, write.Rows[^1].SequenceNr, write.PersistenceId, write.Epoch);
            if (await advance.ExecuteNonQueryAsync(cancellation) != 1)
            {
                fenced.Add(write.PersistenceId);
                continue;
            }

            foreach (var row in write.Rows)
            {
                Set(insert, write.PersistenceId, row.SequenceNr, row.SerializerId, row.Manifest, row.Payload, (object?)row.Items ?? DBNull.Value);
                await insert.ExecuteNonQueryAsync(cancellation);
            }
        }

        committing();
        await transaction.CommitAsync(cancellation);
        return fenced;
    }

    /// <summary>Deletes the events up to <paramref name="toSequenceNr"/>; false (nothing deleted) if the epoch has moved on.</summary>
    public Task<bool> DeleteToAsync(string persistenceId, long epoch, long toSequenceNr, CancellationToken cancellation) => WithWriterAsync(() => true, async writer =>
    {
        await using var transaction = await BeginAsync(writer, cancellation);
        await using var check = Command(writer, transaction,
            "UPDATE list_writers SET highest = highest WHERE persistence_id = @pid AND epoch = @epoch", ("pid", persistenceId), ("epoch", epoch));
        if (await check.ExecuteNonQueryAsync(cancellation) != 1)
        {
            return false;
        }

        await using var delete = Command(writer, transaction,
            "DELETE FROM list_events WHERE persistence_id = @pid AND sequence_nr <= @to", ("pid", persistenceId), ("to", toSequenceNr));
        await delete.ExecuteNonQueryAsync(cancellation);
        await transaction.CommitAsync(cancellation);
        return true;
    }, cancellation);

    /// <summary>
    /// The persistence ids starting with <paramref name="prefix"/> that hold events, in ordinal
    /// order, on a connection of its own. Every write is fenced, so every id with events has
    /// its writer's row: the query walks those rows (one a list) and looks each up in the
    /// events' key, where a DISTINCT over the events would read every event's key entry.
    /// </summary>
    public async Task<IReadOnlyList<string>> PersistenceIdsAsync(string prefix, CancellationToken cancellation)
    {
        await using var connection = await OpenAsync(cancellation);
        await using var command = Command(connection, null,
            """
            SELECT w.persistence_id FROM list_writers w WHERE w.persistence_id LIKE @prefix
            AND EXISTS (SELECT 1 FROM list_events e WHERE e.persistence_id = w.persistence_id)
            """,
            ("prefix", prefix + "%"));
        await using var reader = await command.ExecuteReaderAsync(cancellation);
        var ids = new List<string>();
        while (await reader.ReadAsync(cancellation))
        {
            // LIKE would also take a wildcard in the prefix as one: only the ids that truly start with it.
            var id = reader.GetString(0);
            if (id.StartsWith(prefix, StringComparison.Ordinal))
            {
                ids.Add(id);
            }
        }

        // In ordinal order whatever the database's collation.
        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    /// <summary>Reads the events from <paramref name="from"/> to <paramref name="to"/> (at most <paramref name="max"/>), in order, on a connection of its own.</summary>
    public async Task ReplayAsync(string persistenceId, long from, long to, long max, Action<JournalRow> onRow, CancellationToken cancellation)
    {
        try
        {
            await ReadAsync(persistenceId, from, to, max, onRow, cancellation);
        }
        catch (DbException)
        {
            // Idle pooled connections of a server that restarted are all dead: drop them.
            _source?.Clear();
            throw;
        }
    }

    private async Task ReadAsync(string persistenceId, long from, long to, long max, Action<JournalRow> onRow, CancellationToken cancellation)
    {
        await using var connection = await OpenAsync(cancellation);
        if (connection is SqliteConnection sqlite)
        {
            JournalRows.ReadSqlite(sqlite, persistenceId, from, to, max, onRow, cancellation);
        }
        else
        {
            await JournalRows.ReadPostgresAsync(connection, persistenceId, from, to, max, onRow, cancellation);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }

        if (_source is not null)
        {
            await _source.DisposeAsync();
        }
    }
}
