using Hosting;
using Microsoft.Data.Sqlite;

namespace Aggregator.Storage;

/// <summary>
/// The embedded SQLite journal's start-up checks: the data directory's lock (one aggregator a
/// directory) and the database itself (WAL, an integrity check, a write, the format).
/// </summary>
internal static class SqliteDatabase
{
    /// <summary>The HResult of the IOException .NET throws when another process holds a file's flock (EWOULDBLOCK).</summary>
    private const int LockHeld = 11;

    /// <summary>Creates the directory and takes its lock file, or says why it cannot.</summary>
    public static FileStream LockDirectory(string directory)
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
        FileStream? stream = null;
        try
        {
            // An exclusive open takes an advisory lock (flock) that the OS drops when the
            // process dies, even by SIGKILL: a stale lock file never blocks a restart.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId + "\n");
            stream.Write(pid);
            stream.Flush();
            return stream;
        }
        catch (UnauthorizedAccessException e)
        {
            stream?.Dispose();
            throw new StartupException($"the data directory {directory} is not writable: {e.Message}", e);
        }
        catch (IOException e) when (e.HResult == LockHeld)
        {
            throw new StartupException(
                $"the data directory {directory} is in use by another aggregator (it holds {path}); stop it or use another --data", e);
        }
        catch (IOException e)
        {
            // A read-only mount, a full disk, an I/O error: not another aggregator.
            stream?.Dispose();
            throw new StartupException($"cannot take the lock of the data directory {directory} ({path}): {e.Message}", e);
        }
    }

    /// <summary>
    /// Opens the database once before Akka does: WAL journal mode (persistent in the file),
    /// an integrity check, and a write, so that a corrupt or read-only database is refused
    /// at start-up with its path rather than found later by a list.
    /// </summary>
    /// <returns>The version of the SQLite library, for the log.</returns>
    public static string Prepare(string database)
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
                OldFormat.Refuse(database, command, "journal");
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
