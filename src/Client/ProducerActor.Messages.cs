using Akka.Actor;
using Akka.Event;
using Akka.Remote;
using Protocol.Messages;

namespace Actors.Client;

/// <summary>What the producer is asked and answers, and its own timers' messages.</summary>
internal sealed partial class ProducerActor
{
    /// <summary>Answered with <see cref="Started"/> once the aggregator says where to resume.</summary>
    public sealed record Start : INoSerializationVerificationNeeded;

    /// <summary>Every offset below ResumeOffset is already in the list: skip that much input.</summary>
    public sealed record Started(ulong ResumeOffset) : INoSerializationVerificationNeeded;

    /// <summary>The next batch; answered with <see cref="OfferAccepted"/> when the window has room.</summary>
    public sealed record Offer(AppendBatch Batch) : INoSerializationVerificationNeeded;

    public sealed record OfferAccepted : INoSerializationVerificationNeeded
    {
        public static readonly OfferAccepted Instance = new();
    }

    /// <summary>
    /// No more input for now, with the last batch if there is one (taken as an offer that needs
    /// no answer of its own): answered with <see cref="Finished"/> once everything is acknowledged.
    /// </summary>
    public sealed record Finish(AppendBatch? Last = null) : INoSerializationVerificationNeeded;

    /// <summary>
    /// The end of the run: every offset below NextOffset is acknowledged; of those sent in
    /// this run, Applied were new, Duplicates were in the list already, and
    /// ConfirmedByPosition were acknowledged by a resume position or a gap instead of an
    /// acknowledgement (stored before a reconnection). LongestWait: the longest time batches
    /// were pending without the acknowledged offset moving (a failover, a hand-over, a stall).
    /// </summary>
    public sealed record Finished(ulong NextOffset, ulong Applied, ulong Duplicates, ulong ConfirmedByPosition, TimeSpan LongestWait)
        : INoSerializationVerificationNeeded;

    /// <summary>The run cannot go on: the answer to every request from now on.</summary>
    public sealed record AppendFailed(AggregatorException Reason) : INoSerializationVerificationNeeded;

    public sealed record GetProgress : INoSerializationVerificationNeeded
    {
        public static readonly GetProgress Instance = new();
    }

    /// <summary>Where the run is; Unavailable names why the aggregator cannot store items, while it cannot.</summary>
    public sealed record Progress(ulong Acknowledged, ulong Applied, ulong Duplicates, bool Connected, string? Unavailable)
        : INoSerializationVerificationNeeded;

    private sealed record Located(IActorRef Aggregator, int Index) : INoSerializationVerificationNeeded;

    private sealed record LocateFailed(Exception Reason) : INoSerializationVerificationNeeded;

    private sealed record Resend : INoSerializationVerificationNeeded
    {
        public static readonly Resend Instance = new();
    }

    private sealed record Retry : INoSerializationVerificationNeeded
    {
        public static readonly Retry Instance = new();
    }
}
