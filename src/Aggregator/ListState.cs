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

    /// <summary>Producer positions, for specs and snapshots.</summary>
    public IReadOnlyDictionary<string, ulong> Producers => _nextOffsets;
}
