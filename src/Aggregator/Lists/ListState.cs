using Protocol.Messages;

namespace Aggregator.Lists;

/// <summary>
/// The whole state of one list, in plain C#: its items, its incarnation, per producer the
/// next offset expected and when it last appended, and how many items are durable. The
/// protocol's decisions are <see cref="Decide(AppendBatch, ListSettings, long, ulong)"/> and
/// <see cref="Decide(GetResumePosition, ListSettings, long, ulong)"/> (ListState.Decide.cs):
/// they change nothing. The state changes only by <see cref="Apply(ItemsAppended)"/> and
/// <see cref="Apply(ListStarted)"/> of an event (so replaying the same events gives the same
/// state), by <see cref="MarkDurable"/>, <see cref="PurgeExpired"/> and <see cref="Clear"/>, and by
/// <see cref="Claim"/>, which names the run that holds a producer id (in memory only).
/// </summary>
public sealed partial class ListState(int segmentBytes = ItemLog.DefaultSegmentBytes)
{
    private readonly Dictionary<string, Position> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _sessions = new(StringComparer.Ordinal);
    private readonly ItemLog _items = new(segmentBytes);

    /// <summary>Items applied, durable or not.</summary>
    public long Length => _items.Count;

    /// <summary>
    /// Items that are journaled (all of them in memory): what readers see, never an item a
    /// crash could still take back.
    /// </summary>
    public long DurableLength { get; private set; }

    /// <summary>Producer positions held, expired ones not yet purged included.</summary>
    public int ProducerCount => _producers.Count;

    public ItemLog Items => _items;

    /// <summary>The list's incarnation: 0 until a producer asked where to resume, or appended.</summary>
    public ulong Incarnation { get; private set; }

    /// <summary>True when the list holds nothing: no item, no producer position.</summary>
    public bool IsEmpty => _items.Count == 0 && _producers.Count == 0;

    /// <summary>
    /// The producer's next expected offset at <paramref name="nowMs"/>: 0 if it never
    /// appended or if its last append is <paramref name="retentionMs"/> or more ago.
    /// </summary>
    public ulong NextOffset(string producer, long nowMs, long retentionMs) =>
        _producers.TryGetValue(producer, out var position) && !position.ExpiredAt(nowMs, retentionMs) ? position.Next : 0;

    /// <summary>The last append of a producer whose position has expired at <paramref name="nowMs"/>; null otherwise.</summary>
    public long? ExpiredLastAppend(string producer, long nowMs, long retentionMs) =>
        _producers.TryGetValue(producer, out var position) && position.ExpiredAt(nowMs, retentionMs) ? position.LastAppendMs : null;

    public bool KnowsProducer(string producer) => _producers.ContainsKey(producer);

    /// <summary>
    /// Whether another run of <paramref name="producer"/> holds it: a session other than
    /// <paramref name="session"/> claimed it last. Never for session 0 (a client without
    /// sessions), nor for a producer no session has claimed since the list was loaded.
    /// </summary>
    public bool HeldByOther(string producer, ulong session) =>
        session != 0 && _sessions.TryGetValue(producer, out var held) && held != session;

    /// <summary>
    /// <paramref name="session"/> holds <paramref name="producer"/> from now on: it asked where
    /// to resume (the producer has a position), or its batch was applied or acknowledged. Kept
    /// in memory only, so at most one entry a producer position; a list loaded again learns
    /// the session from the next batch.
    /// </summary>
    public void Claim(string producer, ulong session)
    {
        if (session != 0 && _producers.ContainsKey(producer))
        {
            _sessions[producer] = session;
        }
    }

    /// <summary>
    /// Applies an event. Its first offset must continue the producer's position, or be 0 (a
    /// producer that starts, or starts again after its position expired). Returns null, or
    /// (nothing applied) the producer's next offset that the event does not continue.
    /// </summary>
    public ulong? Apply(ItemsAppended appended) => Apply(appended, adopt: false);

    /// <summary>
    /// <see cref="Apply(ItemsAppended)"/> for an event read back from the journal: a large
    /// event's items array, which the journal read for this list alone and nothing changes
    /// any more, becomes one of the list's segments instead of being copied into one
    /// (<see cref="ItemLog.Adopt"/>). Never for a live append, whose items may share an array with its sender.
    /// </summary>
    public ulong? ApplyRecovered(ItemsAppended appended) => Apply(appended, adopt: true);

    private ulong? Apply(ItemsAppended appended, bool adopt)
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

        if (adopt && ItemLog.CanAdopt(appended.Items.Memory) is { } whole)
        {
            _items.Adopt(whole, appended.Count);
        }
        else
        {
            _items.AppendPacked(appended.Items.Span, appended.Count);
        }

        _producers[appended.Producer] = new Position(appended.FirstOffset + appended.Count, appended.UnixMs);
        return null;
    }

    /// <summary>A producer asked where to resume in a list without an incarnation: it has one from now on.</summary>
    public void Apply(ListStarted started)
    {
        if (Incarnation == 0)
        {
            Incarnation = started.Incarnation;
        }
    }

    /// <summary>The items up to <paramref name="length"/> are durable.</summary>
    public void MarkDurable(long length) => DurableLength = Math.Max(DurableLength, Math.Min(length, Length));

    /// <summary>Forgets everything: the list was deleted.</summary>
    public void Clear()
    {
        _items.Clear();
        _producers.Clear();
        _sessions.Clear();
        Incarnation = 0;
        DurableLength = 0;
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
                _sessions.Remove(producer);
                purged++;
            }
        }

        return purged;
    }

    /// <summary>
    /// Up to <paramref name="maxCount"/> (0: no limit) durable items from <paramref name="from"/>,
    /// packed, within <paramref name="maxBytes"/>: the items and their count.
    /// </summary>
    public (byte[] Packed, int Count) Read(ulong from, uint maxCount, int maxBytes)
    {
        var durable = (ulong)DurableLength;
        if (from >= durable)
        {
            return ([], 0);
        }

        var count = (int)Math.Min(maxCount == 0 ? int.MaxValue : maxCount, Math.Min(durable - from, int.MaxValue));
        return _items.Read((long)from, count, maxBytes);
    }

    /// <summary>Producer positions (next offsets), for specs and stats.</summary>
    public IEnumerable<KeyValuePair<string, ulong>> Producers =>
        _producers.Select(p => KeyValuePair.Create(p.Key, p.Value.Next));

    private bool HasExpired(long nowMs, long retentionMs)
    {
        foreach (var position in _producers.Values)
        {
            if (position.ExpiredAt(nowMs, retentionMs))
            {
                return true;
            }
        }

        return false;
    }

    private readonly record struct Position(ulong Next, long LastAppendMs)
    {
        /// <summary>A position journaled before positions had a time (0) never expires.</summary>
        public bool ExpiredAt(long nowMs, long retentionMs) => LastAppendMs != 0 && nowMs - LastAppendMs >= retentionMs;
    }
}
