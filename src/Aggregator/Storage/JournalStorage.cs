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

    /// <summary>For the log: where the lists live.</summary>
    public string Description { get; }

    /// <summary>Akka.Persistence.Sql's provider name (SQLite.MS, PostgreSQL.15, …); null in memory.</summary>
    public string? Provider { get; }

    /// <summary>The journal's and snapshot store's connection string; null in memory.</summary>
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
            await using var connection = Provider!.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase)
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

            return new JournalStorage($"journaled in {ProbePostgreSql(connection)}", provider, connection, null);
        }

        var directory = Path.GetFullPath(dataDirectory ?? "data");
        var lockFile = LockDirectory(directory);
        try
        {
            var database = Path.Combine(directory, "lists.db");
            var version = Prepare(database);
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
            command.CommandText = "SELECT to_regclass('journal') IS NOT NULL AND to_regclass('list_writers') IS NULL";
            if ((bool)command.ExecuteScalar()!)
            {
                RefuseOldFormat(where, command, "journal");
            }

            return where;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            throw new StartupException($"cannot use the journal in {where}: {e.GetBaseException().Message}", e);
        }
    }

    /// <summary>
    /// Lists journaled by a version before 0.9.0 (Akka.Persistence.Sql's tables journal,
    /// snapshot, with item segments) are not read by this one: rather than start with empty
    /// lists beside them, the aggregator refuses to start and says what to do.
    /// </summary>
    private static void RefuseOldFormat(string where, System.Data.Common.DbCommand command, string table)
    {
        command.CommandText = $"SELECT count(DISTINCT persistence_id) FROM {table} WHERE persistence_id LIKE 'list-%'";
        var lists = Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (lists > 0)
        {
            throw new StartupException(
                $"{where} holds {lists} lists journaled by an aggregator older than 0.9.0 (table '{table}'), which this version cannot read; serve them with the version that wrote them, or copy them over (docs/operations.md, upgrading from before 0.9.0)",
                new InvalidDataException(table));
        }
    }

    /// <summary>
    /// Opens the database once before Akka does: WAL journal mode (persistent in the file),
    /// an integrity check, and a write, so that a corrupt or read-only database is refused
    /// at start-up with its path rather than found later by a list.
    /// </summary>
    /// <returns>The version of the SQLite library, for the log.</returns>
    private static string Prepare(string database)
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
            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'journal' AND NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'list_writers')";
            if ((long)command.ExecuteScalar()! > 0)
            {
                RefuseOldFormat(database, command, "journal");
            }

            command.CommandText = "SELECT sqlite_version();";
            return (string)command.ExecuteScalar()!;
        }
        catch (SqliteException e)
        {
            throw new StartupException($"the database {database} cannot be used: {e.Message}", e);
        }
    }
}
