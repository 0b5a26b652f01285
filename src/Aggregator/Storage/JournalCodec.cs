using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Persistence;
using Google.Protobuf;
using Protocol.Messages;

namespace Aggregator.Storage;

/// <summary>
/// Events to rows and back, through Akka's serialization (our protocol serializer). An
/// <see cref="ItemsAppended"/> event keeps its packed items out of its payload, in a column
/// of their own, as the very array it holds: written without a copy, and read back into one
/// array that the event then wraps.
/// </summary>
public sealed class JournalCodec(Akka.Serialization.Serialization serialization)
{
    /// <summary>
    /// Serializes the events of <paramref name="message"/>. An event that cannot be serialized
    /// is rejected, and so is every event of the same actor after it in the message (a later
    /// one written without it would leave a hole). A persistence id without an epoch for this
    /// actor (<paramref name="epochOf"/> answers null) is fenced at once.
    /// </summary>
    public PreparedWrite Prepare(WriteMessages message, Func<string, long?> epochOf)
    {
        var outcomes = new List<Outcome>();
        var writes = new Dictionary<string, (long Epoch, List<JournalRow> Rows)>(StringComparer.Ordinal);
        Exception? rejectRest = null;
        foreach (var envelope in message.Messages)
        {
            if (envelope is not AtomicWrite atomic)
            {
                outcomes.Add(new Outcome(envelope, null, null, Rejection: null));
                continue;
            }

            var events = (IEnumerable<IPersistentRepresentation>)atomic.Payload;
            var id = atomic.PersistenceId;
            if (epochOf(id) is not { } epoch)
            {
                outcomes.Add(new Outcome(envelope, events, id, Rejection: null, Fenced: true));
                continue;
            }

            var rows = new List<JournalRow>();
            var rejection = rejectRest;
            if (rejection is null)
            {
                try
                {
                    foreach (var persistent in events)
                    {
                        rows.Add(Write(persistent));
                    }
                }
                catch (Exception e)
                {
                    rejection = rejectRest = e;
                }
            }

            if (rejection is null)
            {
                if (!writes.TryGetValue(id, out var pending))
                {
                    writes[id] = pending = (epoch, []);
                }

                pending.Rows.AddRange(rows);
            }

            outcomes.Add(new Outcome(envelope, events, id, rejection));
        }

        var journalWrites = writes.Select(w => new JournalWrite(w.Key, w.Value.Epoch, w.Value.Rows)).ToList();
        return new PreparedWrite(message, outcomes, journalWrites);
    }

    /// <summary>The event of a row, as the persistent actor gets it back.</summary>
    public Persistent Read(string persistenceId, JournalRow row)
    {
        var payload = serialization.Deserialize(row.Payload, row.SerializerId, row.Manifest);
        if (row.Items is { } items && payload is ItemsAppended appended)
        {
            appended.Items = UnsafeByteOperations.UnsafeWrap(items);
        }

        return new Persistent(payload, row.SequenceNr, persistenceId, row.Manifest, isDeleted: false, ActorRefs.NoSender);
    }

    private JournalRow Write(IPersistentRepresentation persistent)
    {
        var payload = persistent.Payload;
        byte[]? items = null;
        if (payload is ItemsAppended appended)
        {
            items = WholeArray(appended.Items);
            var head = appended.Clone();
            head.Items = ByteString.Empty;
            payload = head;
        }

        var serializer = serialization.FindSerializerFor(payload);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, payload);
        return new JournalRow(persistent.SequenceNr, serializer.Identifier, manifest, serializer.ToBinary(payload), items);
    }

    /// <summary>The array behind <paramref name="bytes"/> when it is exactly that array; a copy otherwise.</summary>
    private static byte[] WholeArray(ByteString bytes) =>
        MemoryMarshal.TryGetArray(bytes.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToByteArray();

    /// <summary>One envelope of a write: its events, and what became of them before the database.</summary>
    public sealed record Outcome(IPersistentEnvelope Envelope, IEnumerable<IPersistentRepresentation>? Events, string? PersistenceId,
        Exception? Rejection, bool Fenced = false);
}

/// <summary>One <see cref="WriteMessages"/> made into rows, and the answers it owes its actor.</summary>
public sealed class PreparedWrite(WriteMessages message, IReadOnlyList<JournalCodec.Outcome> outcomes, IReadOnlyList<JournalWrite> writes)
{
    /// <summary>The rows to write, by persistence id.</summary>
    public IReadOnlyList<JournalWrite> Writes => writes;

    /// <summary>False when nothing is to be written: only answers (and fenced or rejected events).</summary>
    public bool NeedsDatabase => writes.Count > 0;

    /// <summary>The persistence ids with an event rejected (it could not be serialized).</summary>
    public IEnumerable<string> Rejected => outcomes.Where(o => o.Rejection is not null && o.PersistenceId is not null).Select(o => o.PersistenceId!).Distinct();

    /// <summary>
    /// Answers the actor, in the order of its envelopes, as Akka.Persistence expects: the
    /// batch's outcome first, then each event's (written, rejected, or fenced: failed) and
    /// each deferred answer's. A <paramref name="failure"/> fails every event.
    /// </summary>
    public void Reply(IReadOnlySet<string>? fenced, Exception? failure)
    {
        var actor = message.PersistentActor;
        var instance = message.ActorInstanceId;
        actor.Tell(failure is null ? WriteMessagesSuccessful.Instance : new WriteMessagesFailed(failure, outcomes.Count(o => o.Events is not null)));
        foreach (var outcome in outcomes)
        {
            if (outcome.Events is null)
            {
                actor.Tell(new LoopMessageSuccess(outcome.Envelope.Payload, instance), outcome.Envelope.Sender);
                continue;
            }

            var fencedNow = outcome.Fenced || (outcome.PersistenceId is { } id && fenced?.Contains(id) == true);
            foreach (var persistent in outcome.Events)
            {
                actor.Tell(failure is not null ? new WriteMessageFailure(persistent, failure, instance)
                    : outcome.Rejection is not null ? new WriteMessageRejected(persistent, outcome.Rejection, instance)
                    : fencedNow ? new WriteMessageFailure(persistent, new JournalFencedException(persistent.PersistenceId), instance)
                    : new WriteMessageSuccess(persistent, instance), persistent.Sender);
            }
        }
    }
}
