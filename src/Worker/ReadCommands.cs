using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Worker;

/// <summary><c>worker get</c>, <c>count</c>, <c>follow</c>, <c>delete</c> and <c>stats</c>: the client library's calls, printed.</summary>
public static class ReadCommands
{
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Prints the list (or --from/--count of it), page by page, one item a line or a JSON array.</summary>
    public static async Task<int> GetAsync(CommandLine line, AggregatorList list, Stream stdout)
    {
        await using var output = new BufferedStream(stdout, 1 << 16);
        await using var json = line.Json ? new Utf8JsonWriter(output, JsonOptions) : null;
        json?.WriteStartArray();
        await foreach (var page in list.ReadPagesAsync(line.From ?? 0, line.Count ?? ulong.MaxValue))
        {
            Write(page, output, json, lines: false);

            // The JSON writer keeps what it wrote until flushed: page by page, the array streams
            // out as the lines do, in bounded memory, however long the list.
            json?.Flush();
        }

        json?.WriteEndArray();
        if (json is not null)
        {
            await json.FlushAsync();
            output.WriteByte((byte)'\n');
        }

        return ExitCodes.Success;
    }

    public static async Task<int> CountAsync(CommandLine line, AggregatorList list, TextWriter stdout)
    {
        var count = await list.CountAsync();
        await stdout.WriteLineAsync(line.Json
            ? OutputJson.Serialize(new ListCount(list.Name, count))
            : count.ToString(CultureInfo.InvariantCulture));
        return ExitCodes.Success;
    }

    public static async Task<int> DeleteAsync(CommandLine line, AggregatorList list, TextWriter stdout)
    {
        var existed = await list.DeleteAsync();
        await stdout.WriteLineAsync(line.Json
            ? OutputJson.Serialize(new ListDeletion(list.Name, existed))
            : existed ? $"deleted list '{list.Name}'" : $"list '{list.Name}' did not exist");
        return ExitCodes.Success;
    }

    /// <summary>The lists the aggregator holds: a table, or a JSON object with --json.</summary>
    public static async Task<int> StatsAsync(CommandLine line, AggregatorClient client, TextWriter stdout)
    {
        var stats = await client.StatsAsync();
        var rows = stats.Lists.Select(l => new ListStatsRow(l.List, l.Length, l.Producers, l.Followers, l.Node, l.Version)).ToArray();
        if (stats.Unanswered.Count > 0)
        {
            await Console.Error.WriteLineAsync(
                $"Worker: stats: {stats.Unanswered.Count} list(s) did not give their figures in time (busy, recovering, or on a node that does not answer): {string.Join(", ", stats.Unanswered)}");
        }

        if (stats.SilentNodes.Count > 0)
        {
            await Console.Error.WriteLineAsync(
                $"Worker: stats: {stats.SilentNodes.Count} node(s) did not say in time which lists they hold; their lists are missing: {string.Join(", ", stats.SilentNodes)}");
        }

        if (line.Json)
        {
            await stdout.WriteLineAsync(OutputJson.Serialize(new StatsReport(stats.Node, stats.Version, rows, [.. stats.Unanswered], [.. stats.SilentNodes])));
            return ExitCodes.Success;
        }

        await stdout.WriteLineAsync($"aggregator {stats.Node}, version {stats.Version}");
        var width = Math.Max(4, rows.Length == 0 ? 0 : rows.Max(r => r.List.Length));
        await stdout.WriteLineAsync($"{"LIST".PadRight(width)}  {"LENGTH",12}  {"PRODUCERS",9}  {"FOLLOWERS",9}  NODE");
        foreach (var row in rows)
        {
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{row.List.PadRight(width)}  {row.Length,12}  {row.Producers,9}  {row.Followers,9}  {row.Node}"));
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// Follows the list from --from (default: its current end) and prints every item as it
    /// arrives, until <paramref name="stop"/> (SIGINT/SIGTERM).
    /// </summary>
    public static async Task<int> FollowAsync(CommandLine line, AggregatorList list, Stream stdout, CancellationToken stop)
    {
        try
        {
            var position = line.From ?? await list.CountAsync(stop);
            await Console.Error.WriteLineAsync($"Worker: following list '{list.Name}' from item {position} (Ctrl+C to stop)");
            await foreach (var page in list.FollowPagesAsync(position, stop))
            {
                switch (page.Restart)
                {
                    case ListRestart.Deleted:
                        await Console.Error.WriteLineAsync($"Worker: list '{list.Name}' was deleted; following it from its start");
                        break;
                    case ListRestart.Shorter:
                        await Console.Error.WriteLineAsync(
                            $"Worker: list '{list.Name}' now has {page.Length} items, fewer than {position}: it was deleted and started again; following it from its start");
                        break;
                    default:
                        using (var json = line.Json ? new Utf8JsonWriter(stdout, JsonOptions) : null)
                        {
                            Write(page, stdout, json, lines: true);
                        }

                        await stdout.FlushAsync(stop);
                        break;
                }

                position = page.Restart is null ? page.From + page.Count : 0;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Interrupted: the normal end of follow.
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// A page's items: for get, one a line or JSON array elements; for follow
    /// (<paramref name="lines"/>), one a line, each a JSON string with --json.
    /// </summary>
    private static void Write(ListPage page, Stream output, Utf8JsonWriter? json, bool lines)
    {
        foreach (var item in page.Items)
        {
            if (json is not null)
            {
                json.WriteStringValue(item.Span);
                if (lines)
                {
                    json.Flush();
                    json.Reset();
                    output.WriteByte((byte)'\n');
                }
            }
            else
            {
                output.Write(item.Span);
                output.WriteByte((byte)'\n');
            }
        }
    }
}
