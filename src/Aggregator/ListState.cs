using Protocol;
using Protocol.Messages;

namespace Aggregator;

/// <summary>
/// The whole state of one list: its items, its incarnation and, per producer, the next
/// offset expected and when it last appended. It changes only by <see cref="Apply"/> of an
/// event, <see cref="Clear"/> and <see cref="Restore"/>, so replaying the same events gives
/// the same state; <see cref="PurgeExpired"/> forgets producers whose position expired.
/// </summary>
public sealed class ListState(int segmentBytes = ItemLog.DefaultSegmentBytes)
{
    private readonly Dictionary<string, Position> _producers = new(StringComparer.Ordinal);
    private ItemLog _items = new(segmentBytes);

    public long Length => _items.Count;

    /// <summary>Producer positions held, expired ones not yet purged included.</summary>
    public int ProducerCount => _producers.Count;

    public ItemLog Items => _items;

    /// <summary>The list's incarnation: 0 while it is empty and has no producer.</summary>
    public ulong Incarnation { get; private set; }

    /// <summary>True when the list holds nothing: no item, no producer position.</summary>
    public bool IsEmpty => _items.Count == 0 && _producers.Count == 0;

    /// <summary>
    /// The producer's next expected offset at <paramref name="nowMs"/>: 0 if it never
    /// appended or if its last append is <paramref name="retentionMs"/> or more ago.
    /// </summary>
    public ulong NextOffset(string producer, long nowMs, long retentionMs) =>
        _producers.TryGetValue(producer, out var position) && !position.ExpiredAt(nowMs, retentionMs) ? position.Next : 0;

    /// <summary>True when the producer has a position and it has expired (its last append, for the log).</summary>
    public bool HasExpired(string producer, long nowMs, long retentionMs, out long lastAppendMs)
    {
        var known = _producers.TryGetValue(producer, out var position);
        lastAppendMs = position.LastAppendMs;
        return known && position.ExpiredAt(nowMs, retentionMs);
    }

    public bool KnowsProducer(string producer) => _producers.ContainsKey(producer);

    /// <summary>
    /// Applies an event. Its first offset must continue the producer's position, or be 0 (a
    /// producer that starts, or starts again after its position expired). Returns null, or
    /// (nothing applied) the producer's next offset that the event does not continue.
    /// </summary>
    public ulong? Apply(ItemsAppended appended)
    {
        var next = _producers.TryGetValue(appended.Producer, out var position) ? position.Next : 0;
        if (appended.FirstOffset != 0 && appended.FirstOffset != next)
        {
            return next;
        }

        if (Incarnation == 0)
        {
            Incarnation = appended.Incarnation;
        }

        _items.AppendPacked(appended.Items.Span, appended.Count);
        _producers[appended.Producer] = new Position(appended.FirstOffset + appended.Count, appended.UnixMs);
        return null;
    }

    /// <summary>
    /// Sealed segments a restored snapshot names but <see cref="AttachSegments"/> has not
    /// brought yet (0: none), and their item count. Until then the items held are only those
    /// after them.
    /// </summary>
    public (int Segments, long Items) Missing { get; private set; }

    /// <summary>Forgets everything: the list was deleted.</summary>
    public void Clear()
    {
        _items.Clear();
        _producers.Clear();
        Incarnation = 0;
        Missing = default;
    }

    /// <summary>Forgets the positions of producers whose last append is <paramref name="retentionMs"/> or more ago; returns how many.</summary>
    public int PurgeExpired(long nowMs, long retentionMs)
    {
        var purged = 0;
        foreach (var (producer, position) in _producers)
        {
            if (position.ExpiredAt(nowMs, retentionMs))
            {
                _producers.Remove(producer);
                purged++;
            }
        }

        return purged;
    }

    /// <summary>
    /// The whole state, for the snapshot store: its first <paramref name="journaledSegments"/>
    /// segments by reference (they are in the segment journal), the items after them as runs
    /// that are not copied (written as a <see cref="ListSnapshot"/>).
    /// </summary>
    public ListSnapshotParts ToSnapshot(int journaledSegments)
    {
        var snapshot = new ListSnapshot
        {
            Count = (ulong)_items.Count,
            Incarnation = Incarnation,
            SealedSegments = (uint)journaledSegments,
            SealedItems = (ulong)_items.ItemsBefore(journaledSegments),
        };
        foreach (var (producer, position) in _producers)
        {
            snapshot.Producers.Add(new ProducerPosition
            {
                Producer = producer,
                NextOffset = position.Next,
                LastAppendUnixMs = position.LastAppendMs,
            });
        }

        return new ListSnapshotParts(snapshot, _items.Runs(journaledSegments));
    }

    /// <summary>
    /// Replaces the state with a snapshot's. The sealed segments it names are
    /// <see cref="Missing"/> until <see cref="AttachSegments"/>; events may be applied meanwhile.
    /// </summary>
    public void Restore(ListSnapshot snapshot)
    {
        Clear();
        _items.AppendPacked(snapshot.Items.Span, (long)(snapshot.Count - snapshot.SealedItems));
        Missing = ((int)snapshot.SealedSegments, (long)snapshot.SealedItems);
        Incarnation = snapshot.Incarnation;
        foreach (var position in snapshot.Producers)
        {
            _producers[position.Producer] = new Position(position.NextOffset, position.LastAppendUnixMs);
        }
    }

    /// <summary>
    /// Puts the <see cref="Missing"/> segments in front of the items held, taking their
    /// arrays as they are. <paramref name="journaled"/> is the segment journal's content in
    /// index order; segments past the missing ones are ignored (written after the snapshot,
    /// by a process that died before the next). Returns null, or why the segments do not fit.
    /// </summary>
    public string? AttachSegments(IReadOnlyList<SegmentSealed> journaled)
    {
        var (missing, missingItems) = Missing;
        if (missing == 0)
        {
            return null;
        }

        if (journaled.Count < missing)
        {
            return $"the snapshot names {missing} sealed segments of items, the segment journal holds {journaled.Count}";
        }

        var items = new ItemLog(segmentBytes);
        for (var i = 0; i < missing; i++)
        {
            var segment = journaled[i];
            if (segment.Index != i || segment.FirstItem != (ulong)items.Count)
            {
                return $"segment {i} of the segment journal is segment {segment.Index} from item {segment.FirstItem}; item {items.Count} was expected";
            }

            var array = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(segment.Items.Memory, out var whole) && whole.Offset == 0
                ? whole.Array!
                : segment.Items.ToByteArray();
            try
            {
                items.AdoptSegment(array, segment.Items.Length, (long)segment.Count);
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
            {
                return $"segment {i} of the segment journal is malformed: {e.Message}";
            }
        }

        if (items.Count != missingItems)
        {
            return $"the snapshot's {missing} sealed segments hold {missingItems} items, the segment journal's {items.Count}";
        }

        for (var i = 0; i < _items.SegmentCount; i++)
        {
            var (packed, _, count) = _items.Segment(i);
            items.AppendPacked(packed.Span, count);
        }

        _items = items;
        Missing = default;
        return null;
    }

    /// <summary>Producer positions (next offsets), for specs and stats.</summary>
    public IEnumerable<KeyValuePair<string, ulong>> Producers =>
        _producers.Select(p => KeyValuePair.Create(p.Key, p.Value.Next));

    private readonly record struct Position(ulong Next, long LastAppendMs)
    {
        /// <summary>A position journaled before positions had a time (0) never expires.</summary>
        public bool ExpiredAt(long nowMs, long retentionMs) => LastAppendMs != 0 && nowMs - LastAppendMs >= retentionMs;
    }
}
