using Aggregator.Storage;
using Npgsql;

namespace Aggregator.Tests;

/// <summary>
/// The journal's writing connection on PostgreSQL, against a real server: a connection the
/// server dropped while idle, and a server whose transactions default to SERIALIZABLE (a
/// claim must wait for a write's row lock and then see its row, as at READ COMMITTED).
/// </summary>
public sealed class JournalStorePostgresSpecs
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [PostgresFact]
    public async Task A_write_should_go_through_on_a_new_connection_when_the_server_dropped_the_idle_one()
    {
        var application = $"journal-{Guid.NewGuid():N}"[..24];
        await using var store = JournalStore.Create("PostgreSQL.15", Named(application));
        await store.InitializeAsync(default);
        var id = $"dropped-{Guid.NewGuid():N}";
        var (epoch, _) = await store.ClaimAsync(id, default);
        await store.WriteAsync([Write(id, epoch, 1)], default);

        // The server ends the idle writing connection (a restart, an idle session time-out).
        Assert.Equal(1L, await ScalarAsync(
            "SELECT count(*) FROM pg_stat_activity WHERE CASE WHEN application_name = @app THEN pg_terminate_backend(pid) ELSE false END",
            application)); // CASE: terminates only those (an AND may be evaluated in either order)
        var fenced = await store.WriteAsync([Write(id, epoch, 2)], default).WaitAsync(Bound);

        Assert.Empty(fenced);
        var rows = new List<long>();
        await store.ReplayAsync(id, 1, long.MaxValue, long.MaxValue, row => rows.Add(row.SequenceNr), default);
        Assert.Equal([1L, 2L], rows);
    }

    [PostgresFact]
    public async Task A_claim_racing_a_write_should_take_the_next_epoch_not_fail_when_the_server_defaults_to_SERIALIZABLE()
    {
        var application = $"journal-{Guid.NewGuid():N}"[..24];
        var serializable = new NpgsqlConnectionStringBuilder(Named(application)) { Options = "-c default_transaction_isolation=serializable" };
        await using (var check = new NpgsqlConnection(serializable.ToString()))
        {
            await check.OpenAsync();
            await using var show = new NpgsqlCommand("SHOW default_transaction_isolation", check);
            Assert.Equal("serializable", await show.ExecuteScalarAsync());
        }

        await using var store = JournalStore.Create("PostgreSQL.15", serializable.ToString());
        await store.InitializeAsync(default);
        var id = $"raced-{Guid.NewGuid():N}";
        var (epoch, _) = await store.ClaimAsync(id, default);

        // Another node's write holds the writer row while this node's claim comes, then commits.
        await using var other = new NpgsqlConnection(PostgresTheoryAttribute.ConnectionString);
        await other.OpenAsync();
        await using var write = await other.BeginTransactionAsync();
        await using (var advance = new NpgsqlCommand("UPDATE list_writers SET highest = highest + 5 WHERE persistence_id = @id", other, write))
        {
            advance.Parameters.AddWithValue("id", id);
            Assert.Equal(1, await advance.ExecuteNonQueryAsync());
        }

        var claim = store.ClaimAsync(id, default);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (await ScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE application_name = @app AND wait_event_type = 'Lock'", application) != 1)
        {
            Assert.True(waited.Elapsed < Bound, "the claim never waited for the write's row lock");
            Assert.False(claim.IsCompleted, "the claim ended without waiting for the write's row lock");
            await Task.Delay(20);
        }

        await write.CommitAsync();

        Assert.Equal((epoch + 1, 5L), await claim.WaitAsync(Bound));
    }

    private static string Named(string application) =>
        new NpgsqlConnectionStringBuilder(PostgresTheoryAttribute.ConnectionString) { ApplicationName = application }.ToString();

    private static JournalWrite Write(string id, long epoch, long sequenceNr) => new(id, epoch, [new JournalRow(sequenceNr, 7, "m", [0], null)]);

    private static async Task<long> ScalarAsync(string sql, string application)
    {
        await using var connection = new NpgsqlConnection(PostgresTheoryAttribute.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("app", application);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
