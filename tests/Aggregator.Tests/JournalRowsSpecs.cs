using Aggregator.Storage;
using Microsoft.Data.Sqlite;

namespace Aggregator.Tests;

/// <summary>
/// The replay's reader on SQLite, while another connection holds the database locked: before
/// its first row it tries again until the lock goes (or its caller cancels), then reads every
/// row once. The lock: a connection that takes the database out of WAL mode and opens an
/// exclusive transaction, which keeps readers out until it closes (in WAL mode a checkpoint or
/// a recovery of the WAL can, briefly).
/// </summary>
public sealed class JournalRowsSpecs : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly string _directory = Directory.CreateTempSubdirectory("journal-rows-specs").FullName;
    private string Database => Path.Combine(_directory, "lists.db");

    public async Task InitializeAsync()
    {
        await using var store = JournalStore.Create("SQLite.MS", $"Data Source={Database};Pooling=False");
        await store.InitializeAsync(default);
        var (epoch, _) = await store.ClaimAsync("list-b", default);
        await store.WriteAsync([new JournalWrite("list-b", epoch, [Row(1), Row(2), Row(3)])], default);
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(false)] // a fresh connection: the lock meets its preparation, which reads the schema
    [InlineData(true)]  // the schema read already: the lock meets its first step
    public async Task ReadSqlite_should_wait_for_a_lock_held_before_its_first_row_and_then_read_every_row_once(bool schemaRead)
    {
        var (locker, reader) = await LockedOutAsync(schemaRead);
        await using var lockHeld = locker;
        await using var readerOpen = reader;
        var rows = new List<long>();

        var reading = Task.Run(() => JournalRows.ReadSqlite(reader, "list-b", 1, long.MaxValue, long.MaxValue, r => rows.Add(r.SequenceNr), default));
        // Held: the read cannot end, whatever the wait.
        Assert.NotSame(reading, await Task.WhenAny(reading, Task.Delay(TimeSpan.FromMilliseconds(500))));
        Assert.Empty(rows);

        await locker.DisposeAsync(); // the lock goes
        await reading.WaitAsync(Bound);
        Assert.Equal([1L, 2L, 3L], rows);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReadSqlite_should_stop_waiting_for_a_lock_when_cancelled(bool schemaRead)
    {
        var (locker, reader) = await LockedOutAsync(schemaRead);
        await using var lockHeld = locker;
        await using var readerOpen = reader;
        using var cancellation = new CancellationTokenSource();

        var reading = Task.Run(() => JournalRows.ReadSqlite(reader, "list-b", 1, long.MaxValue, long.MaxValue, _ => { }, cancellation.Token));
        Assert.NotSame(reading, await Task.WhenAny(reading, Task.Delay(TimeSpan.FromMilliseconds(200))));
        await cancellation.CancelAsync();

        // Well before the 30 s it would otherwise keep trying for.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection($"Data Source={Database};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>
    /// A reader (its schema read already, or not) and a locker in an exclusive transaction
    /// that keeps it out.
    /// </summary>
    private async Task<(SqliteConnection Locker, SqliteConnection Reader)> LockedOutAsync(bool schemaRead)
    {
        var locker = await OutOfWalAsync();
        var reader = await OpenAsync();
        if (schemaRead)
        {
            Assert.Equal(3L, await ExecuteAsync(reader, "SELECT count(*) FROM list_events"));
        }

        await ExecuteAsync(locker, "BEGIN EXCLUSIVE");
        return (locker, reader);
    }

    /// <summary>
    /// A connection that has taken the database out of WAL mode (in which a writer never keeps
    /// readers out); its exclusive transaction (BEGIN EXCLUSIVE) then holds every other
    /// connection off until it is disposed.
    /// </summary>
    private async Task<SqliteConnection> OutOfWalAsync()
    {
        var locker = await OpenAsync();
        Assert.Equal("delete", await ExecuteAsync(locker, "PRAGMA journal_mode = DELETE"));
        return locker;
    }

    private static async Task<object?> ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private static JournalRow Row(long sequenceNr) => new(sequenceNr, 7, "m", [0], [1, (byte)'x']);
}
