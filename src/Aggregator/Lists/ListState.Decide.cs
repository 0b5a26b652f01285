using Google.Protobuf;
using Protocol;
using Protocol.Messages;

namespace Aggregator.Lists;

/// <summary>What a list does with an <see cref="AppendBatch"/>: decided by <see cref="ListState"/>, carried out by the actor.</summary>
public abstract record AppendDecision
{
    /// <summary>Journal <paramref name="Event"/> (purging expired producer positions first when told), then acknowledge with <paramref name="Ack"/>.</summary>
    /// <param name="ExpiredLastAppend">the producer's last append, when it starts again because its position expired (for the log).</param>
    public sealed record Write(ItemsAppended Event, BatchAppended Ack, bool PurgeFirst, long? ExpiredLastAppend) : AppendDecision;

    /// <summary>Every item is in the list already: acknowledge once everything applied before is durable.</summary>
    public sealed record Duplicate(BatchAppended Ack) : AppendDecision;

    /// <summary>Refuse, once everything applied before is durable; <paramref name="Warn"/>: worth a warning in the log.</summary>
    public sealed record Refuse(AppendRefused Refusal, bool Warn) : AppendDecision;
}

/// <summary>What a list answers to <see cref="GetResumePosition"/>.</summary>
public abstract record ResumeDecision
{
    /// <summary>Answer <paramref name="Position"/> once durable; with <paramref name="Start"/>, journal it first: the list's first incarnation.</summary>
    public sealed record Answer(ResumePosition Position, ListStarted? Start, long? ExpiredLastAppend) : ResumeDecision;

    public sealed record Refuse(RequestRefused Refusal) : ResumeDecision;
}

public sealed partial class ListState
{
    /// <summary>
    /// The append protocol: a batch is applied only from its producer's next offset. An
    /// older offset is a duplicate (acknowledged, not applied again); a later one is a gap,
    /// refused with the offset to resend from. A batch for an incarnation the list no longer
    /// has was sent before a delete: refused. So is a batch of a session that no longer holds
    /// its producer id (<see cref="HeldByOther"/>). Limits are checked before anything changes.
    /// </summary>
    /// <param name="freshIncarnation">the incarnation the list takes if it has none yet.</param>
    public AppendDecision Decide(AppendBatch batch, ListSettings settings, long nowMs, ulong freshIncarnation)
    {
        if (Names.Check(batch.Producer, "producer id") is { } badProducer)
        {
            return Refuse(batch, Refusal.InvalidName, badProducer, settings, nowMs, warn: true);
        }

        if (batch.Items.Length > settings.MaxBatchBytes)
        {
            return Refuse(batch, Refusal.BatchTooLarge,
                $"the batch is {batch.Items.Length} bytes; the limit is {settings.MaxBatchBytes} (max-batch-bytes)", settings, nowMs, warn: true);
        }

        if (settings.WasDeleted(batch.Incarnation, Incarnation))
        {
            return Refuse(batch, Refusal.ListDeleted, $"list '{batch.List}' was deleted", settings, nowMs, warn: false);
        }

        if (HeldByOther(batch.Producer, batch.Session))
        {
            return Refuse(batch, Refusal.ProducerInUse,
                $"another run of producer '{batch.Producer}' is appending to list '{batch.List}' (it started or appended after this one); use one id for one producer at a time",
                settings, nowMs, warn: true);
        }

        var retention = settings.RetentionMs;
        var purge = false;
        if (!KnowsProducer(batch.Producer) && ProducerCount >= settings.MaxProducersPerList)
        {
            if (!HasExpired(nowMs, retention))
            {
                return Refuse(batch, Refusal.TooManyProducers,
                    $"list '{batch.List}' already has {ProducerCount} producers; the limit is {settings.MaxProducersPerList}", settings, nowMs, warn: true);
            }

            purge = true;
        }

        var next = NextOffset(batch.Producer, nowMs, retention);
        if (batch.FirstOffset > next)
        {
            return Refuse(batch, Refusal.Gap, $"offset {batch.FirstOffset} leaves a gap: resend from {next}", settings, nowMs, warn: false);
        }

        var end = batch.FirstOffset + batch.Count;
        if (end <= next)
        {
            return new AppendDecision.Duplicate(Acknowledgement(batch, next, 0, batch.Count, Incarnation));
        }

        if (PackedItems.Validate(batch.Items.Span, batch.Count, settings.MaxItemBytes) is { } invalid)
        {
            var reason = invalid.Problem switch
            {
                PackedItemsProblem.TooLarge => Refusal.ItemTooLarge,
                PackedItemsProblem.InvalidUtf8 => Refusal.InvalidUtf8,
                _ => Refusal.MalformedBatch,
            };
            return Refuse(batch, reason, $"offset {batch.FirstOffset + invalid.Index}: {invalid.Message}", settings, nowMs, warn: true);
        }

        var skip = (uint)(next - batch.FirstOffset);
        var incarnation = Incarnation != 0 ? Incarnation : freshIncarnation;
        var appended = new ItemsAppended
        {
            Producer = batch.Producer,
            FirstOffset = next,
            Count = batch.Count - skip,
            Items = skip == 0 ? batch.Items : ByteString.CopyFrom(batch.Items.Span[PackedItems.SkipItems(batch.Items.Span, skip)..]),
            Incarnation = incarnation,
            UnixMs = nowMs,
        };
        return new AppendDecision.Write(appended, Acknowledgement(batch, end, appended.Count, skip, incarnation), purge,
            next == 0 ? ExpiredLastAppend(batch.Producer, nowMs, retention) : null);
    }

    /// <summary>
    /// Where a producer resumes. A list without an incarnation takes one now, so that even a
    /// producer's first batch names the incarnation it was meant for: a delete in between is
    /// then seen, and the batch refused, whatever became of its acknowledgement.
    /// </summary>
    public ResumeDecision Decide(GetResumePosition request, ListSettings settings, long nowMs, ulong freshIncarnation)
    {
        if (Names.Check(request.Producer, "producer id") is { } badProducer)
        {
            return new ResumeDecision.Refuse(new RequestRefused { List = request.List, Reason = Refusal.InvalidName, Message = badProducer });
        }

        if (settings.WasDeleted(request.Incarnation, Incarnation))
        {
            return new ResumeDecision.Refuse(new RequestRefused
            {
                List = request.List,
                Reason = Refusal.ListDeleted,
                Message = $"list '{request.List}' was deleted",
            });
        }

        var next = NextOffset(request.Producer, nowMs, settings.RetentionMs);
        var start = Incarnation == 0 ? new ListStarted { Incarnation = freshIncarnation, UnixMs = nowMs } : null;
        var position = new ResumePosition
        {
            List = request.List,
            Producer = request.Producer,
            NextOffset = next,
            Length = (ulong)Length,
            Incarnation = start?.Incarnation ?? Incarnation,
        };
        return new ResumeDecision.Answer(position, start, next == 0 ? ExpiredLastAppend(request.Producer, nowMs, settings.RetentionMs) : null);
    }

    private AppendDecision.Refuse Refuse(AppendBatch batch, Refusal reason, string message, ListSettings settings, long nowMs, bool warn) =>
        new(new AppendRefused
        {
            List = batch.List,
            Producer = batch.Producer,
            FirstOffset = batch.FirstOffset,
            ExpectedOffset = NextOffset(batch.Producer, nowMs, settings.RetentionMs),
            Reason = reason,
            Message = message,
            Incarnation = Incarnation,
        }, warn);

    private static BatchAppended Acknowledgement(AppendBatch batch, ulong next, uint applied, uint duplicates, ulong incarnation) => new()
    {
        List = batch.List,
        Producer = batch.Producer,
        FirstOffset = batch.FirstOffset,
        NextOffset = next,
        Applied = applied,
        Duplicates = duplicates,
        Incarnation = incarnation,
    };
}
