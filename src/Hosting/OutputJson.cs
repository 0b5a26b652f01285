using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hosting;

/// <summary>
/// Every JSON document the two executables print (<c>--json</c>, and the demo's list), as
/// records serialized by one source-generated context: the field names are the records'
/// properties in camelCase; non-ASCII text is written as is (UTF-8), not escaped.
/// </summary>
[JsonSerializable(typeof(AppendSummary))]
[JsonSerializable(typeof(ListCount))]
[JsonSerializable(typeof(ListDeletion))]
[JsonSerializable(typeof(LatencyReport))]
[JsonSerializable(typeof(StatsReport))]
[JsonSerializable(typeof(string[]))]
public sealed partial class OutputJson : JsonSerializerContext
{
    /// <summary>The context every command prints with.</summary>
    public static OutputJson Writer { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, typeof(T), Writer);
}

/// <summary>
/// <c>append --json</c>: every item read is one of appended, duplicates, alreadyStored.
/// LongestAckWaitSeconds: the longest time batches waited with no acknowledgement moving on
/// (a failover or a hand-over in a cluster shows here).
/// </summary>
public sealed record AppendSummary(string List, string Producer, ulong Items, ulong Appended, ulong Duplicates,
    ulong AlreadyStored, double Seconds, double ItemsPerSecond, double FirstSendUnix, double LastAckUnix, double LongestAckWaitSeconds);

/// <summary><c>count --json</c>.</summary>
public sealed record ListCount(string List, ulong Length);

/// <summary><c>delete --json</c>.</summary>
public sealed record ListDeletion(string List, bool Deleted);

/// <summary><c>latency --json</c>: microseconds.</summary>
public sealed record LatencyReport(int Count, double P50Us, double P90Us, double P99Us, double MaxUs, double MeanUs,
    double IdentifyP50Us, double IdentifyP99Us);

/// <summary>
/// <c>stats --json</c>: the node that answered, its version, and every list with the node that
/// holds it; the lists that did not give their figures in time, and the nodes that did not say
/// which lists they hold (both empty when the report is complete).
/// </summary>
public sealed record StatsReport(string Node, string Version, ListStatsRow[] Lists, string[] Unanswered, string[] SilentNodes);

/// <summary>One list of <c>stats --json</c>: the node that holds it and that node's version.</summary>
public sealed record ListStatsRow(string List, ulong Length, uint Producers, uint Followers, string Node, string Version);
