using Aggregator.Lists;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Protocol;
using Protocol.Messages;

namespace Aggregator.Routing;

/// <summary>
/// Routes every list request by its list's name (<see cref="IListRequest"/>), in both modes: the
/// cluster's shard region and a single node's <see cref="LocalLists"/> take this one extractor.
/// The shard of a name is a stable hash, the same on every node.
/// </summary>
public sealed class ListMessageExtractor(int shards) : HashCodeMessageExtractor(shards)
{
    public override string? EntityId(object message) => (message as IListRequest)?.List;
}

/// <summary>What both entry points (<see cref="LocalLists"/>, <see cref="ListsGateway"/>) do alike before routing.</summary>
public static class ListRouting
{
    /// <summary>Lists per stats page at most.</summary>
    public const int StatsPage = 500;

    /// <summary>A stats entry's bytes besides its list's name and node: the figures, the version, the fields' tags.</summary>
    private const int StatsEntryBytes = 64;

    /// <summary>
    /// The names (in order) that one stats page holds: at most <see cref="StatsPage"/>, and
    /// only as many as fit in <paramref name="budget"/> bytes (a read page's size, under the
    /// transport's frame) with each entry's name and node address (<paramref name="nodeBytes"/>
    /// at most), but always one. <c>More</c> when names are left for the next page.
    /// </summary>
    public static (List<string> Page, bool More) StatsPageOf(IEnumerable<string> names, int budget, int nodeBytes)
    {
        var page = new List<string>();
        long bytes = 0;
        foreach (var name in names)
        {
            var entry = System.Text.Encoding.UTF8.GetByteCount(name) + nodeBytes + StatsEntryBytes;
            if (page.Count == StatsPage || (page.Count > 0 && bytes + entry > budget))
            {
                return (page, true);
            }

            page.Add(name);
            bytes += entry;
        }

        return (page, false);
    }

    /// <summary>
    /// True if the request names a valid list; else answers it with an INVALID_NAME refusal
    /// (counted, logged) and returns false.
    /// </summary>
    public static bool NameIsValid(IListRequest request, IActorRef sender, AggregatorMetrics metrics, ILoggingAdapter log)
    {
        if (Names.Check(request.List, "list name") is not { } problem)
        {
            return true;
        }

        Refusals.Refuse(request, Refusal.InvalidName, problem, sender, metrics, log);
        return false;
    }
}
