using System.Data.Common;
using Hosting;
using Npgsql;

namespace Aggregator.Storage;

/// <summary>The PostgreSQL journal's start-up check: the server answers, and its tables are of this version's format.</summary>
internal static class PostgresDatabase
{
    /// <summary>
    /// Connects once before Akka does, so that a wrong connection string or a server that is
    /// down stops the start-up with the server's own words instead of failing the first append.
    /// </summary>
    /// <returns>Where the journal is, for the log.</returns>
    public static string Probe(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new StartupException($"the PostgreSQL connection string is not valid: {e.Message}", e);
        }

        var where = $"PostgreSQL at {builder.Host}:{builder.Port}, database '{builder.Database}'";
        try
        {
            using var connection = new NpgsqlConnection(connectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            command.ExecuteScalar();
            command.CommandText = "SELECT to_regclass('journal') IS NOT NULL AND to_regclass('list_writers') IS NULL";
            if ((bool)command.ExecuteScalar()!)
            {
                OldFormat.Refuse(where, command, "journal");
            }

            return where;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            throw new StartupException($"cannot use the journal in {where}: {e.GetBaseException().Message}", e);
        }
    }

    /// <summary>
    /// Whether every one of <paramref name="tables"/> exists: create them only if not, since
    /// CREATE TABLE IF NOT EXISTS needs CREATE on the schema even when they do, which a role
    /// given tables made for it may lack.
    /// </summary>
    public static async Task<bool> TablesExistAsync(DbConnection connection, CancellationToken cancellation, params string[] tables)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + string.Join(" AND ", tables.Select(table => $"to_regclass('{table}') IS NOT NULL"));
        return (bool)(await command.ExecuteScalarAsync(cancellation))!;
    }
}
