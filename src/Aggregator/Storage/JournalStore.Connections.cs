using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Aggregator.Storage;

/// <summary>The journal's connections: the one writing connection, its transactions, and commands.</summary>
public sealed partial class JournalStore
{
    /// <summary>
    /// Runs <paramref name="work"/> on the writing connection, opened if it is not. A failure
    /// closes it (the database may have restarted), so that the next step opens a new one; when
    /// <paramref name="mayRetry"/> says the step may run twice (a claim only takes one more
    /// epoch, a delete deletes nothing more, a write that sent no commit wrote nothing), this
    /// step once more at once, when the connection was an old one that turned out dead.
    /// </summary>
    private async Task<T> WithWriterAsync<T>(Func<bool> mayRetry, Func<DbConnection, Task<T>> work, CancellationToken cancellation)
    {
        var reused = _writer is not null;
        _writer ??= await OpenAsync(cancellation);
        try
        {
            return await work(_writer);
        }
        catch (Exception e) when (e is DbException or IOException or InvalidOperationException)
        {
            var broken = _writer;
            _writer = null;
            await broken.DisposeAsync();
            _source?.Clear();
            if (!mayRetry() || !reused || cancellation.IsCancellationRequested)
            {
                throw;
            }
        }

        return await WithWriterAsync(() => false, work, cancellation);
    }

    /// <summary>
    /// A transaction at READ COMMITTED, said outright (Npgsql's default too, whatever the
    /// server's): the fence relies on a write waiting for a claim's row lock and then seeing
    /// its row, where REPEATABLE READ or SERIALIZABLE would abort it instead. (SQLite's
    /// transactions are serializable.)
    /// </summary>
    private Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellation) =>
        _postgres ? connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellation).AsTask() : connection.BeginTransactionAsync(cancellation).AsTask();

    private async Task<DbConnection> OpenAsync(CancellationToken cancellation)
    {
        if (_source is not null)
        {
            return await _source.OpenConnectionAsync(cancellation);
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellation);
            await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", cancellation);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync(); // back to the pool, not leaked
            throw;
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellation)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellation);
    }

    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.DbType = value switch
            {
                long => DbType.Int64,
                int => DbType.Int32,
                string => DbType.String,
                _ => DbType.Binary,
            };
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private static void Set(DbCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }
    }
}
