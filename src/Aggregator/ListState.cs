using Protocol.Messages;

namespace Aggregator;

/// <summary>
/// The whole state of one list: its items and, per producer, the next offset expected.
/// It changes only by <see cref="Apply"/> of an event, so replaying the same events gives
/// the same state.
/// </summary>
public sealed class ListState
{
    private readonly ItemLog _items = new();
    private readonly Dictionary<string, ulong> _nextOffsets = new(StringComparer.Ordinal);

    public long Length => _items.Count;

    public int ProducerCount => _nextOffsets.Count;

    public ItemLog Items => _items;

    /// <summary>The producer's next expected offset: 0 if it never appended.</summary>
    public ulong NextOffset(string producer) => _nextOffsets.GetValueOrDefault(producer);

    public bool KnowsProducer(string producer) => _nextOffsets.ContainsKey(producer);

    public void Apply(ItemsAppended appended)
    {
        _items.AppendPacked(appended.Items.Span, appended.Count);
        _nextOffsets[appended.Producer] = appended.FirstOffset + appended.Count;
    }

    /// <summary>The whole state, for the snapshot store.</summary>
    public ListSnapshot ToSnapshot()
    {
        var snapshot = new ListSnapshot
        {
            Count = (ulong)_items.Count,
            Items = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(_items.CopyAll()),
        };
        foreach (var (producer, next) in _nextOffsets)
        {
            snapshot.Producers.Add(new ProducerPosition { Producer = producer, NextOffset = next });
        }

        return snapshot;
    }

    /// <summary>Replaces the state with a snapshot's.</summary>
    public void Restore(ListSnapshot snapshot)
    {
        _items.Clear();
        _nextOffsets.Clear();
        _items.AppendPacked(snapshot.Items.Span, (long)snapshot.Count);
        foreach (var position in snapshot.Producers)
        {
            _nextOffsets[position.Producer] = position.NextOffset;
        }
    }

    /// <summary>Producer positions, for specs and snapshots.</summary>
    public IReadOnlyDictionary<string, ulong> Producers => _nextOffsets;
}
