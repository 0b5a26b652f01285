using Aggregator.Storage;
using Hosting;
using Aggregator;
using Microsoft.Data.Sqlite;
using Protocol;

namespace Aggregator.Tests;

/// <summary>The embedded journal's data directory: its lock, its database and the durability it gets.</summary>
public sealed class StorageSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("storage-specs").FullName;

    private string Data => Path.Combine(_root, "data");

    [Fact]
    public void Journal_connections_should_get_WAL_and_synchronous_FULL()
    {
        using var storage = Open();

        using var connection = new SqliteConnection(storage.ConnectionString);
        connection.Open();

        Assert.Equal("wal", Pragma(connection, "journal_mode"));
        Assert.Equal(2L, Pragma(connection, "synchronous")); // 2 = FULL: the WAL is fsynced at every commit
        Assert.Equal(Path.Combine(Data, "lists.db"), connection.DataSource);
    }

    [Fact]
    public void The_bundled_SQLite_should_be_past_the_WAL_reset_corruption_bug_and_be_named_in_the_log()
    {
        // SQLite 3.7.0 to 3.51.2 can corrupt a WAL database that two connections write or
        // checkpoint at the same moment; the aggregator writes one from several connections.
        using var storage = Open();
        using var connection = new SqliteConnection(storage.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sqlite_version()";
        var version = (string)command.ExecuteScalar()!;

        Assert.True(Version.Parse(version) >= new Version(3, 51, 3), $"SQLite {version} has the WAL-reset bug (fixed in 3.51.3)");
        Assert.EndsWith($"(SQLite {version})", storage.Description);
    }

    [Fact]
    public void A_database_of_an_aggregator_before_0_9_should_be_refused_saying_what_to_do_not_served_empty()
    {
        Directory.CreateDirectory(Data);
        using (var old = new SqliteConnection($"Data Source={Path.Combine(Data, "lists.db")};Pooling=False"))
        {
            old.Open();
            using var command = old.CreateCommand();
            command.CommandText = """
                CREATE TABLE journal (ordering INTEGER PRIMARY KEY, persistence_id TEXT, sequence_number INTEGER, message BLOB);
                INSERT INTO journal (persistence_id, sequence_number, message) VALUES ('list-orders', 1, x'00'), ('list-orders', 2, x'00'), ('list-other', 1, x'00');
                """;
            command.ExecuteNonQuery();
        }

        var refused = Assert.Throws<StartupException>(Open);

        Assert.Contains("holds 2 lists journaled by an aggregator older than 0.9.0", refused.Message);
        Assert.Contains("docs/operations.md", refused.Message);
    }

    [Fact]
    public void A_second_open_of_the_same_directory_should_be_refused_until_the_first_is_disposed()
    {
        var first = Open();

        var refused = Assert.Throws<StartupException>(Open);
        Assert.Contains($"the data directory {Data} is in use by another aggregator", refused.Message);

        first.Dispose();
        using var again = Open();
        Assert.True(again.Durable);
    }

    [Fact]
    public void A_file_that_is_not_a_database_should_be_refused_naming_it()
    {
        Directory.CreateDirectory(Data);
        var database = Path.Combine(Data, "lists.db");
        File.WriteAllText(database, new string('x', 10_000));

        var refused = Assert.Throws<StartupException>(Open);

        Assert.StartsWith($"the database {database} ", refused.Message);
    }

    [Fact]
    public void Data_should_be_refused_when_the_configuration_selects_another_database()
    {
        var path = Path.Combine(_root, "postgres.hocon");
        File.WriteAllText(path, "akka.persistence.journal.sql.provider-name = \"PostgreSQL.15\"\n");
        var file = HoconFile.Load(path, "aggregator.hocon");

        var refused = Assert.Throws<ConfigurationException>(() => JournalStorage.Open(file, Data));

        Assert.Contains("--data is for the embedded SQLite journal", refused.Message);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    private JournalStorage Open() => JournalStorage.Open(HoconFile.Shipped("aggregator.hocon"), Data);

    private static object? Pragma(SqliteConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name};";
        return command.ExecuteScalar();
    }
}
