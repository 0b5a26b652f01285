using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Google.Protobuf;
using Protocol.Messages;

namespace Aggregator;

/// <summary>
/// The segment journal of one list, a child of its <see cref="ListActor"/>: each sealed
/// segment of the list's items is journaled here once, as a <see cref="SegmentSealed"/>
/// event, so that a snapshot of the list names the segments it needs instead of copying
/// them. Recovery replays every segment and hands them to the list in one message; the
/// store keeps none in memory afterwards.
/// </summary>
public sealed class SegmentStore : ReceivePersistentActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private List<SegmentSealed> _recovered = [];

    public SegmentStore(string list)
    {
        PersistenceId = PersistenceIdOf(list);
        Recover<SegmentSealed>(segment =>
        {
            // A segment written again at an index replaces that one and every one after it.
            var index = (int)segment.Index;
            if (index < _recovered.Count)
            {
                _recovered.RemoveRange(index, _recovered.Count - index);
            }

            _recovered.Add(segment);
        });
        Recover<RecoveryCompleted>(_ =>
        {
            Context.Parent.Tell(new Recovered(_recovered));
            _recovered = [];
        });

        Command<Seal>(seal =>
        {
            var parent = Sender;
            var last = seal.Segments[^1];
            PersistAll(seal.Segments, written =>
            {
                if (ReferenceEquals(written, last))
                {
                    parent.Tell(new Sealed((int)last.Index + 1));
                }
            });
        });
        Command<DeleteAll>(_ =>
        {
            if (LastSequenceNr == 0)
            {
                Context.Parent.Tell(new Deleted(null));
                return;
            }

            DeleteMessages(long.MaxValue);
        });
        Command<DeleteMessagesSuccess>(_ => Context.Parent.Tell(new Deleted(null)));
        Command<DeleteMessagesFailure>(f => Context.Parent.Tell(new Deleted(f.Cause)));
    }

    public override string PersistenceId { get; }

    public static Props Props(string list) => Akka.Actor.Props.Create(() => new SegmentStore(list));

    /// <summary>The journal's id of a list's segments (never a list's: those start with "list-").</summary>
    public static string PersistenceIdOf(string list) => "segments-" + list;

    /// <summary>A segment event for <paramref name="log"/>'s segment <paramref name="index"/>; its items are not copied.</summary>
    public static SegmentSealed EventOf(ItemLog log, int index)
    {
        var (packed, first, count) = log.Segment(index);
        return new SegmentSealed
        {
            Index = (uint)index,
            FirstItem = (ulong)first,
            Count = (ulong)count,
            Items = UnsafeByteOperations.UnsafeWrap(packed),
        };
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "The journal failed to store segment event {0} of {1}", sequenceNr, PersistenceId);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // The seal would never be answered: stop, so that the list stops and is loaded again.
        _log.Error(cause, "The journal rejected segment event {0} of {1}", sequenceNr, PersistenceId);
        Context.Stop(Self);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null) =>
        _log.Error(reason, "Loading the segments of {0} from the journal failed", PersistenceId);

    /// <summary>Journal these consecutive segments; answered with <see cref="Sealed"/> once all are.</summary>
    public sealed record Seal(IReadOnlyList<SegmentSealed> Segments) : INoSerializationVerificationNeeded;

    /// <summary>Every segment up to (not including) <paramref name="Count"/> is journaled.</summary>
    public sealed record Sealed(int Count) : INoSerializationVerificationNeeded;

    /// <summary>What recovery found, in index order.</summary>
    public sealed record Recovered(IReadOnlyList<SegmentSealed> Segments) : INoSerializationVerificationNeeded;

    /// <summary>Delete every segment (the list was deleted); answered with <see cref="Deleted"/>.</summary>
    public sealed class DeleteAll : INoSerializationVerificationNeeded
    {
        public static readonly DeleteAll Instance = new();
    }

    /// <summary>The segments are deleted (<paramref name="Cause"/> null), or could not be.</summary>
    public sealed record Deleted(Exception? Cause) : INoSerializationVerificationNeeded;
}
