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

    /// <summary>
    /// The plugins' connection for Akka.Persistence.Sql, as HOCON to put in front of the
    /// file's journal and snapshot-store blocks (which hold everything else).
    /// </summary>
    public Akka.Configuration.Config PluginConfig()
    {
        var connection = $"connection-string = {Quote(ConnectionString!)}, provider-name = {Quote(Provider!)}";
        return Akka.Configuration.ConfigurationFactory.ParseString(
            $"akka.persistence.journal.sql {{ {connection} }}\nakka.persistence.snapshot-store.sql {{ {connection} }}");

        static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

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
            var version = Prepare(database);
            var connectionString = new SqliteConnectionStringBuilder { DataSource = database, Pooling = true }.ToString();
            return new Storage($"journaled in {database} (SQLite {version})", provider, connectionString, lockFile);
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

    /// <summary>
    /// Cluster mode: the journal table must refuse a second event with the same persistence
    /// id and sequence number, so that two actors of one list (on two nodes, for the moments
    /// of a hand-over or a split) can never both write. A table the journal has not created
    /// yet gets the constraint when it does (auto-initialize).
    /// </summary>
    /// <returns>What was found, for the log.</returns>
    /// <exception cref="StartupException">the table exists without the constraint.</exception>
    public string CheckUniqueWrites(HoconFile file)
    {
        var config = file.Config.WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
        var mapping = config.GetConfig(Journal + config.GetString(Journal + "table-mapping", "default"));
        var schema = mapping.GetString("schema-name", null);
        var table = mapping.GetString("journal.table-name", "journal");
        string[] columns = [mapping.GetString("journal.columns.persistence-id", "persistence_id"),
            mapping.GetString("journal.columns.sequence-number", "sequence_number")];
        var name = $"{schema ?? "public"}.{table}";
        try
        {
            using var connection = new NpgsqlConnection(ConnectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT t.oid IS NOT NULL,
                       EXISTS (SELECT 1 FROM pg_index i
                               WHERE i.indrelid = t.oid AND i.indisunique AND i.indisvalid AND i.indimmediate
                                 AND i.indpred IS NULL
                                 AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C")
                                      FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = ANY(i.indkey)) = @columns)
                FROM (SELECT (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                              WHERE c.relname = @table AND n.nspname = COALESCE(@schema, current_schema()))) AS t(oid)
                """;
            command.Parameters.AddWithValue("table", table);
            command.Parameters.AddWithValue("schema", (object?)schema ?? DBNull.Value);
            command.Parameters.AddWithValue("columns", columns.Order(StringComparer.Ordinal).ToArray());
            using var reader = command.ExecuteReader();
            reader.Read();
            var (exists, unique) = (reader.GetBoolean(0), reader.GetBoolean(1));
            if (!exists)
            {
                return $"the journal table {name} does not exist yet; the journal creates it with UNIQUE ({string.Join(", ", columns)})";
            }

            return unique
                ? $"the journal table {name} has UNIQUE ({string.Join(", ", columns)})"
                : throw new StartupException(
                    $"the journal table {name} has no unique constraint on ({string.Join(", ", columns)}), so two nodes could both write one list; add it (ALTER TABLE {name} ADD UNIQUE ({string.Join(", ", columns)})) before starting a cluster",
                    new InvalidOperationException(name));
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            throw new StartupException($"cannot check the journal table {name}: {e.GetBaseException().Message}", e);
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
            command.CommandText = "SELECT sqlite_version();";
            return (string)command.ExecuteScalar()!;
        }
        catch (SqliteException e)
        {
            throw new StartupException($"the database {database} cannot be used: {e.Message}", e);
        }
    }
}
