using Hosting;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Aggregator;

/// <summary>
/// Where lists are journaled. With --in-memory nothing is; by default an embedded SQLite
/// database in the data directory, held by a lock file so that no second aggregator can use
/// it; or any database Akka.Persistence.Sql supports (PostgreSQL, …), chosen by
/// configuration alone.
/// </summary>
public sealed class Storage : IDisposable
{
    private const string Journal = "akka.persistence.journal.sql.";
    private readonly FileStream? _lock;

    private Storage(string description, string? provider, string? connectionString, FileStream? lockFile)
    {
        Description = description;
        Provider = provider;
        ConnectionString = connectionString;
        _lock = lockFile;
    }

    public bool Durable => Provider is not null;

    /// <summary>For the log: where the lists live.</summary>
    public string Description { get; }

    /// <summary>Akka.Persistence.Sql's provider name (SQLite.MS, PostgreSQL.15, …); null in memory.</summary>
    public string? Provider { get; }

    /// <summary>The journal's and snapshot store's connection string; null in memory.</summary>
    public string? ConnectionString { get; }

    public static Storage InMemory() => new("in memory (not journaled)", null, null, null);

    /// <exception cref="StartupException">the data directory or database cannot be used.</exception>
    public static Storage Open(HoconFile file, string? dataDirectory)
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

            var description = provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase)
                ? ProbePostgreSql(connection)
                : provider;
            return new Storage($"journaled in {description}", provider, connection, null);
        }

        var directory = Path.GetFullPath(dataDirectory ?? "data");
        var lockFile = LockDirectory(directory);
        try
        {
            var database = Path.Combine(directory, "lists.db");
            Prepare(database);
            var connectionString = new SqliteConnectionStringBuilder { DataSource = database, Pooling = true }.ToString();
            return new Storage($"journaled in {database}", provider, connectionString, lockFile);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    public void Dispose() => _lock?.Dispose();

    private static FileStream LockDirectory(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot create the data directory {directory}: {e.Message}", e);
        }

        var path = Path.Combine(directory, "aggregator.lock");
        try
        {
            // An exclusive open takes an advisory lock (flock) that the OS drops when the
            // process dies, even by SIGKILL: a stale lock file never blocks a restart.
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId + "\n");
            stream.Write(pid);
            stream.Flush();
            return stream;
        }
        catch (UnauthorizedAccessException e)
        {
            throw new StartupException($"the data directory {directory} is not writable: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new StartupException(
                $"the data directory {directory} is in use by another aggregator (it holds {path}); stop it or use another --data", e);
        }
    }

    /// <summary>
    /// Connects once before Akka does, so that a wrong connection string or a server that is
    /// down stops the start-up with the server's own words instead of failing the first append.
    /// </summary>
    /// <returns>Where the journal is, for the log.</returns>
    private static string ProbePostgreSql(string connectionString)
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
            return where;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            throw new StartupException($"cannot use the journal in {where}: {e.GetBaseException().Message}", e);
        }
    }

    /// <summary>
    /// Opens the database once before Akka does: WAL journal mode (persistent in the file),
    /// an integrity check, and a write, so that a corrupt or read-only database is refused
    /// at start-up with its path rather than found later by a list.
    /// </summary>
    private static void Prepare(string database)
    {
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = database,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
            }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL;";
            command.ExecuteScalar();
            command.CommandText = "PRAGMA quick_check;";
            var check = command.ExecuteScalar() as string;
            if (check != "ok")
            {
                throw new StartupException($"the database {database} is corrupt: {check}", new InvalidDataException(check));
            }

            command.CommandText = "CREATE TABLE IF NOT EXISTS aggregator_probe (x INTEGER); DROP TABLE aggregator_probe;";
            command.ExecuteNonQuery();
        }
        catch (SqliteException e)
        {
            throw new StartupException($"the database {database} cannot be used: {e.Message}", e);
        }
    }
}
