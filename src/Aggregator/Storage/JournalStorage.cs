using Hosting;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Aggregator.Storage;

/// <summary>
/// Where lists are journaled. With --in-memory nothing is; by default an embedded SQLite
/// database in the data directory, held by a lock file so that no second aggregator can use
/// it; or a PostgreSQL database, chosen by configuration alone. Either holds the tables of
/// <see cref="JournalStore"/>.
/// </summary>
public sealed class JournalStorage : IDisposable
{
    private const string Journal = "akka.persistence.journal.sql.";
    private readonly FileStream? _lock;

    private JournalStorage(string description, string? provider, string? connectionString, FileStream? lockFile)
    {
        Description = description;
        Provider = provider;
        ConnectionString = connectionString;
        _lock = lockFile;
    }

    public bool Durable => Provider is not null;

    /// <summary>The journal is a PostgreSQL database (which other processes may share).</summary>
    public bool Postgres => Provider?.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>For the log: where the lists live.</summary>
    public string Description { get; }

    /// <summary>The journal's database, as its <c>provider-name</c> (SQLite.MS, PostgreSQL.15, …: the names Akka.Persistence.Sql used, kept for existing configuration); null in memory.</summary>
    public string? Provider { get; }

    /// <summary>The journal's connection string; null in memory.</summary>
    public string? ConnectionString { get; }

    /// <summary>
    /// The journal's provider and connection, as HOCON to put in front of the file's journal
    /// block (<c>akka.persistence.journal.sql</c>, which holds everything else).
    /// </summary>
    public Akka.Configuration.Config PluginConfig() => Akka.Configuration.ConfigurationFactory.ParseString(
        $"akka.persistence.journal.sql {{ connection-string = {HoconFile.Quote(ConnectionString!)}, provider-name = {HoconFile.Quote(Provider!)} }}");

    /// <summary>
    /// Asks the database for one row, as a health probe: null when it answers, else why not.
    /// </summary>
    public async Task<string?> ProbeAsync(CancellationToken cancellation)
    {
        try
        {
            await using var connection = Postgres
                ? (System.Data.Common.DbConnection)new NpgsqlConnection(ConnectionString)
                : new SqliteConnection(ConnectionString);
            await connection.OpenAsync(cancellation);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellation);
            return null;
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException or IOException)
        {
            return e.GetBaseException().Message;
        }
    }

    public static JournalStorage InMemory() => new("in memory (not journaled)", null, null, null);

    /// <exception cref="StartupException">the data directory or database cannot be used.</exception>
    public static JournalStorage Open(HoconFile file, string? dataDirectory)
    {
        var provider = file.Config.GetString(Journal + "provider-name", string.Empty);
        if (!provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase))
        {
            if (dataDirectory is not null)
            {
                throw new ConfigurationException(file.Path, null, Journal + "provider-name",
                    $"--data is for the embedded SQLite journal; this file selects '{provider}'");
            }

            var connection = file.GetString(Journal + "connection-string");
            if (connection.Length == 0)
            {
                throw new ConfigurationException(file.Path, null, Journal + "connection-string",
                    $"provider '{provider}' needs a connection string");
            }

            if (!provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase))
            {
                throw new ConfigurationException(file.Path, null, Journal + "provider-name",
                    $"'{provider}' is not a journal this aggregator can use: SQLite.MS (the default, in --data) or PostgreSQL.15");
            }

            return new JournalStorage($"journaled in {PostgresDatabase.Probe(connection)}", provider, connection, null);
        }

        var directory = Path.GetFullPath(dataDirectory ?? "data");
        var lockFile = SqliteDatabase.LockDirectory(directory);
        try
        {
            var database = Path.Combine(directory, "lists.db");
            var version = SqliteDatabase.Prepare(database);
            var connectionString = new SqliteConnectionStringBuilder { DataSource = database, Pooling = true }.ToString();
            return new JournalStorage($"journaled in {database} (SQLite {version})", provider, connectionString, lockFile);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    public void Dispose() => _lock?.Dispose();

    /// <summary>
    /// Cluster mode: every node must journal into the same PostgreSQL database. Checked
    /// before anything opens the journal.
    /// </summary>
    /// <exception cref="UsageException">--in-memory with cluster mode.</exception>
    /// <exception cref="ConfigurationException">the file selects a journal nodes cannot share.</exception>
    public static void RequireShared(HoconFile file, bool inMemory, string? dataDirectory)
    {
        const string why = "cluster mode needs a journal every node shares: PostgreSQL (provider-name = \"PostgreSQL.15\" and a connection-string, see docs/operations.md)";
        if (inMemory || dataDirectory is not null)
        {
            throw new UsageException($"{(inMemory ? "--in-memory" : "--data")} does not go with --cluster: {why}");
        }

        var provider = file.Config.GetString(Journal + "provider-name", string.Empty);
        if (!provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigurationException(file.Path, null, Journal + "provider-name",
                $"'{provider}' is one process's journal; {why}");
        }
    }
}
