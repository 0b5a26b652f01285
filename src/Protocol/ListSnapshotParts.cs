using Google.Protobuf;
using Protocol.Messages;

namespace Protocol;

/// <summary>
/// A <see cref="ListSnapshot"/> whose items are still where the list keeps them: runs of
/// packed items (the list's segments, which are only ever appended to). It is written as
/// exactly the bytes of the <see cref="ListSnapshot"/> it stands for (manifest <c>ls</c>;
/// read back, it is a <see cref="ListSnapshot"/>), without first copying every item into
/// one array: a snapshot of a large list holds one copy of it fewer.
/// </summary>
public sealed class ListSnapshotParts
{
    /// <param name="head">everything but the items (its <c>Items</c> empty).</param>
    /// <param name="items">the packed items, in order; none of them may change afterwards.</param>
    public ListSnapshotParts(ListSnapshot head, IReadOnlyList<ReadOnlyMemory<byte>> items)
    {
        if (!head.Items.IsEmpty)
        {
            throw new ArgumentException("the head of a snapshot in parts holds no items", nameof(head));
        }

        Head = head;
        Items = items;
    }

    public ListSnapshot Head { get; }

    public IReadOnlyList<ReadOnlyMemory<byte>> Items { get; }

    /// <summary>The <see cref="ListSnapshot"/> it stands for (what a store that keeps objects, not bytes, gives back).</summary>
    public ListSnapshot ToListSnapshot() => ListSnapshot.Parser.ParseFrom(ToByteArray());

    /// <summary>The wire form of the whole <see cref="ListSnapshot"/>: the head's fields, then the items field.</summary>
    public byte[] ToByteArray()
    {
        long itemBytes = 0;
        foreach (var run in Items)
        {
            itemBytes += run.Length;
        }

        // A message's fields may come in any order; a parser reads the same ListSnapshot.
        var prefix = CodedOutputStream.ComputeTagSize(ListSnapshot.ItemsFieldNumber);
        var total = Head.CalculateSize() + (itemBytes == 0 ? 0 : prefix + CodedOutputStream.ComputeLengthSize((int)Math.Min(itemBytes, int.MaxValue)) + itemBytes);
        if (total > Array.MaxLength)
        {
            throw new InvalidOperationException($"a snapshot of {itemBytes} bytes of items is larger than one array can hold");
        }

        var bytes = new byte[total];
        var output = new CodedOutputStream(bytes);
        Head.WriteTo(output);
        if (itemBytes > 0)
        {
            output.WriteTag(ListSnapshot.ItemsFieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteLength((int)itemBytes);
        }

        output.Flush();
        var at = (int)output.Position;
        foreach (var run in Items)
        {
            run.Span.CopyTo(bytes.AsSpan(at));
            at += run.Length;
        }

        return bytes;
    }
}
