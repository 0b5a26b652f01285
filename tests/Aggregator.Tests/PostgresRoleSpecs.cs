using Aggregator.Storage;
using Npgsql;

namespace Aggregator.Tests;

/// <summary>
/// A PostgreSQL role given tables created for it, without CREATE on their schema (the default
/// for every role but the owner since PostgreSQL 15), as docs/operations.md describes.
/// </summary>
public sealed class PostgresRoleSpecs
{
    [PostgresFact]
    public async Task A_role_without_CREATE_should_journal_and_lease_in_tables_created_for_it()
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var (schema, role) = ($"least_{suffix}", $"lister_{suffix}");
        var admin = new NpgsqlConnectionStringBuilder(PostgresFactAttribute.ConnectionString!) { SearchPath = schema }.ToString();
        await ExecuteAsync(admin, $"CREATE SCHEMA {schema}; CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA {schema} TO {role}");
        try
        {
            // The owner creates the tables, as an administrator would once.
            await using (var store = JournalStore.Create("PostgreSQL.15", admin))
            {
                await store.InitializeAsync(CancellationToken.None);
            }

            await (await TakeAsync(admin)).DisposeAsync();
            await ExecuteAsync(admin, $"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}");
            var lister = new NpgsqlConnectionStringBuilder(admin) { Username = role, Pooling = false }.ToString();
            var denied = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(lister, "CREATE TABLE IF NOT EXISTS list_writers (x INTEGER)"));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, denied.SqlState);

            await using (var store = JournalStore.Create("PostgreSQL.15", lister))
            {
                await store.InitializeAsync(CancellationToken.None);
                Assert.Equal(1, (await store.ClaimAsync("list-role", CancellationToken.None)).Epoch);
            }

            await using var lease = await TakeAsync(lister);
            Assert.True(await lease.RenewAsync(CancellationToken.None));
        }
        finally
        {
            await ExecuteAsync(admin, $"DROP SCHEMA {schema} CASCADE; DROP ROLE {role}");
        }
    }

    private static Task<DatabaseLease> TakeAsync(string connection) => DatabaseLease.TakeAsync(connection, DatabaseLease.WholeDatabase,
        new LeaseClaimant("machine-a/127.0.0.1:25520", Environment.ProcessId), TimeSpan.FromSeconds(5), _ => { }, CancellationToken.None);

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
