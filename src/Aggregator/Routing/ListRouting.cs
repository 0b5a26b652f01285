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
    /// <summary>Lists per stats page: a page stays far below the transport's frame.</summary>
    public const int StatsPage = 500;

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

        Refuse(request, Refusal.InvalidName, problem, sender, metrics, log);
        return false;
    }

    /// <summary>Answers <paramref name="request"/> with a refusal for <paramref name="reason"/>, counted; logged unless it is UNAVAILABLE (a retry).</summary>
    public static void Refuse(IListRequest request, Refusal reason, string text, IActorRef sender, AggregatorMetrics metrics, ILoggingAdapter log)
    {
        metrics.Refused(reason);
        if (reason != Refusal.Unavailable)
        {
            log.Warning("Refused a request from {0}: {1}", sender.Path.Address, text);
        }

        sender.Tell(RefusalOf(request, reason, text));
    }

    /// <summary>The refusal that answers <paramref name="request"/>: an AppendRefused for a batch, a RequestRefused for the rest.</summary>
    public static object RefusalOf(IListRequest request, Refusal reason, string text) => request switch
    {
        AppendBatch m => new AppendRefused
        {
            List = m.List,
            Producer = m.Producer,
            FirstOffset = m.FirstOffset,
            Reason = reason,
            Message = text,
        },
        _ => new RequestRefused { List = request.List, Reason = reason, Message = text },
    };
}
