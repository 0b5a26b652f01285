using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Aggregator.Storage;

/// <summary>
/// Reads a replay's rows (<see cref="JournalStore.ReplayAsync"/>), the recovery's hot path:
/// every stored item passes here once. Each event's items land in an array of their exact
/// length, copied once from the database's buffer and not cleared first; an array a
/// recovering list will keep as a segment (<see cref="PinnedMinBytes"/> or more, the list's
/// <c>ItemLog.AdoptMinBytes</c>) is allocated on the pinned object heap, where the GC never
/// copies it either.
/// </summary>
internal static class JournalRows
{
    /// <summary>The shortest array allocated pinned: the shortest a recovering list keeps as a segment of its own.</summary>
    public const int PinnedMinBytes = 16 << 10;

    /// <summary>How long a replay waits, before its first row, for another connection's lock to go.</summary>
    private const int LockWaitMs = 30_000;

    /// <summary>The replay's query; SQLite numbers its parameters 1 to 4 in the order they first appear.</summary>
    private const string Sql = """
        SELECT sequence_nr, serializer_id, manifest, payload, items FROM list_events
        WHERE persistence_id = @pid AND sequence_nr >= @from AND sequence_nr <= @to
        ORDER BY sequence_nr LIMIT @max
        """;

    /// <summary>
    /// SQLite, through SQLite's own API on the connection's handle: Microsoft.Data.Sqlite's
    /// reader gives a BLOB out only as a copy of its own (and GetBytes copies that copy
    /// again), where SQLite hands over a span of its buffer.
    /// </summary>
    public static void ReadSqlite(SqliteConnection connection, string persistenceId, long from, long to, long max,
        Action<JournalRow> onRow, CancellationToken cancellation)
    {
        var db = connection.Handle!;
        var deadline = Environment.TickCount64 + LockWaitMs;
        sqlite3_stmt? prepared = null;
        // Preparing reads the schema, which a lock keeps out as it does the first row.
        var rc = UntilUnlocked(() =>
        {
            prepared?.Dispose();
            return raw.sqlite3_prepare_v2(db, Sql, out prepared);
        }, deadline, cancellation);
        using var statement = prepared!;
        Check(rc, db);
        Check(raw.sqlite3_bind_text(statement, 1, persistenceId), db);
        Check(raw.sqlite3_bind_int64(statement, 2, from), db);
        Check(raw.sqlite3_bind_int64(statement, 3, to), db);
        Check(raw.sqlite3_bind_int64(statement, 4, max), db);
        for (var rows = 0L; ; rows++)
        {
            cancellation.ThrowIfCancellationRequested();
            // Before the first row only: after it, starting again would hand rows over twice
            // (the error goes to the recovery, which fails and is tried again).
            var step = rows == 0
                ? UntilUnlocked(() => raw.sqlite3_step(statement), deadline, cancellation, () => raw.sqlite3_reset(statement))
                : raw.sqlite3_step(statement);
            if (step == raw.SQLITE_DONE)
            {
                return;
            }

            if (step != raw.SQLITE_ROW)
            {
                SqliteException.ThrowExceptionForRC(step, db);
            }

            byte[]? items = null;
            if (raw.sqlite3_column_type(statement, 4) != raw.SQLITE_NULL)
            {
                var blob = raw.sqlite3_column_blob(statement, 4);
                items = Allocate(blob.Length);
                blob.CopyTo(items);
            }

            onRow(new JournalRow(raw.sqlite3_column_int64(statement, 0), raw.sqlite3_column_int(statement, 1),
                raw.sqlite3_column_text(statement, 2).utf8_to_string(), raw.sqlite3_column_blob(statement, 3).ToArray(), items));
        }
    }

    /// <summary>PostgreSQL, through Npgsql's reader, which streams a column into the caller's array.</summary>
    public static async Task ReadPostgresAsync(DbConnection connection, string persistenceId, long from, long to, long max,
        Action<JournalRow> onRow, CancellationToken cancellation)
    {
        await using var command = JournalStore.Command(connection, null, Sql, ("pid", persistenceId), ("from", from), ("to", to), ("max", max));
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellation);
        while (await reader.ReadAsync(cancellation))
        {
            var sequenceNr = reader.GetInt64(0);
            var serializer = reader.GetInt32(1);
            var manifest = reader.GetString(2);
            var payload = reader.GetFieldValue<byte[]>(3);
            var items = await reader.IsDBNullAsync(4, cancellation) ? null : ReadColumn(reader, 4);
            onRow(new JournalRow(sequenceNr, serializer, manifest, payload, items));
        }
    }

    private static byte[] ReadColumn(DbDataReader reader, int ordinal)
    {
        var items = Allocate(checked((int)reader.GetBytes(ordinal, 0, null, 0, 0)));
        var read = 0;
        while (read < items.Length)
        {
            var n = (int)reader.GetBytes(ordinal, read, items, read, items.Length - read);
            if (n == 0)
            {
                throw new InvalidDataException($"the journal's row ended after {read} of its {items.Length} bytes of items");
            }

            read += n;
        }

        return items;
    }

    private static byte[] Allocate(int length) =>
        GC.AllocateUninitializedArray<byte>(length, pinned: length >= PinnedMinBytes);

    /// <summary>
    /// Calls <paramref name="call"/> again, after <paramref name="reset"/>, while another
    /// connection holds a lock (SQLITE_BUSY, SQLITE_LOCKED: a checkpoint, a recovery of the WAL,
    /// another process), every millisecond until <paramref name="deadline"/> or until
    /// cancelled; returns its last result.
    /// </summary>
    private static int UntilUnlocked(Func<int> call, long deadline, CancellationToken cancellation, Action? reset = null)
    {
        while (true)
        {
            var rc = call();
            if ((rc != raw.SQLITE_BUSY && rc != raw.SQLITE_LOCKED) || Environment.TickCount64 > deadline)
            {
                return rc;
            }

            reset?.Invoke();
            cancellation.ThrowIfCancellationRequested();
            cancellation.WaitHandle.WaitOne(1);
        }
    }

    private static void Check(int rc, sqlite3 db)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }
}
