using Hosting;

namespace Aggregator.Storage;

/// <summary>Journals written before 0.9.0, which this version does not read: refused at start-up, with what to do.</summary>
internal static class OldFormat
{
    /// <summary>
    /// Lists journaled by a version before 0.9.0 (Akka.Persistence.Sql's tables journal,
    /// snapshot, with item segments) are not read by this one: rather than start with empty
    /// lists beside them, the aggregator refuses to start and says what to do.
    /// </summary>
    public static void Refuse(string where, System.Data.Common.DbCommand command, string table)
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
}
