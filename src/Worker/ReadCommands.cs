using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Worker;

/// <summary><c>worker get</c>, <c>count</c>, <c>follow</c>, <c>delete</c> and <c>stats</c>: requests and pages.</summary>
public static class ReadCommands
{
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Prints the list (or --from/--count of it), page by page, one item a line or a JSON array.</summary>
    public static async Task<int> GetAsync(CommandLine line, AggregatorClient client, Stream stdout)
    {
        await using var output = new BufferedStream(stdout, 1 << 16);
        await using var json = line.Json ? new Utf8JsonWriter(output, JsonOptions) : null;
        json?.WriteStartArray();
        await foreach (var page in ListPages.ReadAsync(line.List, line.From ?? 0, line.Count ?? ulong.MaxValue,
                           async request => (ItemRange)await client.RequestAsync(request)))
        {
            Write(page, output, json);
        }

        json?.WriteEndArray();
        if (json is not null)
        {
            await json.FlushAsync();
            output.WriteByte((byte)'\n');
        }

        return ExitCodes.Success;
    }

    public static async Task<int> CountAsync(CommandLine line, AggregatorClient client, TextWriter stdout)
    {
        var length = (Length)await client.RequestAsync(new GetLength { List = line.List });
        await stdout.WriteLineAsync(line.Json
            ? OutputJson.Serialize(new ListCount(line.List, length.Count))
            : length.Count.ToString(CultureInfo.InvariantCulture));
        return ExitCodes.Success;
    }

    public static async Task<int> DeleteAsync(CommandLine line, AggregatorClient client, TextWriter stdout)
    {
        var deleted = (ListDeleted)await client.RequestAsync(new DeleteList { List = line.List });
        await stdout.WriteLineAsync(line.Json
            ? OutputJson.Serialize(new ListDeletion(line.List, deleted.Existed))
            : deleted.Existed ? $"deleted list '{line.List}'" : $"list '{line.List}' did not exist");
        return ExitCodes.Success;
    }

    /// <summary>The lists the aggregator holds, page by page: a table, or a JSON array with --json.</summary>
    public static async Task<int> StatsAsync(CommandLine line, AggregatorClient client, TextWriter stdout)
    {
        var rows = new List<ListStatsRow>();
        var after = string.Empty;
        var (node, version) = (string.Empty, string.Empty);
        while (true)
        {
            var stats = (Stats)await client.RequestAsync(new GetStats { After = after });
            (node, version) = (stats.Node, stats.Version);
            rows.AddRange(stats.Lists.Select(l => new ListStatsRow(l.List, l.Length, l.Producers, l.Followers, l.Node, l.Version)));
            if (!stats.More || stats.Lists.Count == 0)
            {
                break;
            }

            after = stats.Lists[^1].List;
        }

        if (line.Json)
        {
            await stdout.WriteLineAsync(OutputJson.Serialize(new StatsReport(node, version, rows.ToArray())));
            return ExitCodes.Success;
        }

        await stdout.WriteLineAsync($"aggregator {node}, version {version}");

        var width = Math.Max(4, rows.Count == 0 ? 0 : rows.Max(r => r.List.Length));
        await stdout.WriteLineAsync($"{"LIST".PadRight(width)}  {"LENGTH",12}  {"PRODUCERS",9}  {"FOLLOWERS",9}  NODE");
        foreach (var row in rows)
        {
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{row.List.PadRight(width)}  {row.Length,12}  {row.Producers,9}  {row.Followers,9}  {row.Node}"));
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// Long-polls the list from --from (default: its current end) and prints every item as
    /// it arrives, until <paramref name="stop"/> (SIGINT/SIGTERM). One page in flight.
    /// </summary>
    public static async Task<int> FollowAsync(CommandLine line, AggregatorClient client, Stream stdout, TimeSpan followWait,
        CancellationToken stop)
    {
        try
        {
            var position = line.From ?? ((Length)await client.RequestAsync(new GetLength { List = line.List }, cancellation: stop)).Count;
            await Console.Error.WriteLineAsync($"Worker: following list '{line.List}' from item {position} (Ctrl+C to stop)");
            while (!stop.IsCancellationRequested)
            {
                var reply = await client.RequestAsync(new GetRange { List = line.List, From = position, Wait = true }, followWait, stop);
                if (reply is ListDeleted)
                {
                    await Console.Error.WriteLineAsync($"Worker: list '{line.List}' was deleted; following it from its start");
                    position = 0;
                    continue;
                }

                var page = (ItemRange)reply;
                if (page.Length < position)
                {
                    await Console.Error.WriteLineAsync(
                        $"Worker: list '{line.List}' now has {page.Length} items, fewer than {position}: it was deleted and started again; following it from its start");
                    position = 0;
                    continue;
                }

                if (page.Count > 0)
                {
                    using var json = line.Json ? new Utf8JsonWriter(stdout, JsonOptions) : null;
                    WriteLines(page, stdout, json);
                    await stdout.FlushAsync(stop);
                    position += page.Count;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Interrupted: the normal end of follow.
        }

        return ExitCodes.Success;
    }

    private static void Write(ItemRange page, Stream output, Utf8JsonWriter? json)
    {
        var reader = new PackedItemsReader(page.Items.Span);
        while (reader.TryRead(out var item))
        {
            if (json is not null)
            {
                json.WriteStringValue(item);
            }
            else
            {
                output.Write(item);
                output.WriteByte((byte)'\n');
            }
        }
    }

    /// <summary>follow's output: one item a line, or with --json one JSON string a line.</summary>
    private static void WriteLines(ItemRange page, Stream output, Utf8JsonWriter? json)
    {
        var reader = new PackedItemsReader(page.Items.Span);
        while (reader.TryRead(out var item))
        {
            if (json is not null)
            {
                json.WriteStringValue(item);
                json.Flush();
                json.Reset();
            }
            else
            {
                output.Write(item);
            }

            output.WriteByte((byte)'\n');
        }
    }
}
