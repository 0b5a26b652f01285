using Akka.Actor;
using Akka.Event;
using Protocol;
using Protocol.Messages;

namespace Aggregator.Lists;

/// <summary>Refusing a list request, alike wherever it is refused: at the entry points, or by the list itself.</summary>
public static class Refusals
{
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
