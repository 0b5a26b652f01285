using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Google.Protobuf;

namespace Protocol;

/// <summary>
/// The packed item format of messages.proto: each item is its UTF-8 byte length as a
/// varint, then the bytes. Used by the worker to build batches, by the aggregator to
/// validate and store them, and by readers to print them.
/// </summary>
public static class PackedItems
{
    /// <summary>Bytes a varint of <paramref name="value"/> takes.</summary>
    public static int VarintSize(uint value) =>
        value < 1u << 7 ? 1 : value < 1u << 14 ? 2 : value < 1u << 21 ? 3 : value < 1u << 28 ? 4 : 5;

    /// <summary>Writes <paramref name="value"/> as a varint; returns the bytes written.</summary>
    public static int WriteVarint(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Reads a varint of at most 5 bytes; false when truncated or too long.</summary>
    public static bool TryReadVarint(ReadOnlySpan<byte> source, out uint value, out int consumed)
    {
        value = 0;
        for (var i = 0; i < 5 && i < source.Length; i++)
        {
            var b = source[i];
            if (i == 4 && b > 0x0F)
            {
                break;
            }

            value |= (uint)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                consumed = i + 1;
                return true;
            }
        }

        consumed = 0;
        value = 0;
        return false;
    }

    /// <summary>
    /// Checks a packed run: well-formed lengths, exactly <paramref name="expectedCount"/>
    /// items, none over <paramref name="maxItemBytes"/>, all valid UTF-8.
    /// Returns null when valid, else the problem and the index of the item at fault.
    /// </summary>
    public static PackedItemsError? Validate(ReadOnlySpan<byte> items, uint expectedCount, int maxItemBytes)
    {
        var position = 0;
        uint index = 0;
        while (position < items.Length)
        {
            if (index == expectedCount)
            {
                return new PackedItemsError(PackedItemsProblem.Malformed, index,
                    $"the batch holds more items than its count {expectedCount}");
            }

            if (!TryReadVarint(items[position..], out var length, out var consumed))
            {
                return new PackedItemsError(PackedItemsProblem.Malformed, index, $"item {index} has a malformed length");
            }

            position += consumed;
            if (length > maxItemBytes)
            {
                return new PackedItemsError(PackedItemsProblem.TooLarge, index,
                    $"item {index} is {length} bytes; the limit is {maxItemBytes}");
            }

            if (length > items.Length - position)
            {
                return new PackedItemsError(PackedItemsProblem.Malformed, index, $"item {index} is cut short");
            }

            if (!Utf8.IsValid(items.Slice(position, (int)length)))
            {
                return new PackedItemsError(PackedItemsProblem.InvalidUtf8, index, $"item {index} is not valid UTF-8");
            }

            position += (int)length;
            index++;
        }

        return index == expectedCount
            ? null
            : new PackedItemsError(PackedItemsProblem.Malformed, index,
                $"the batch holds {index} items but says {expectedCount}");
    }

    /// <summary>Byte position of item <paramref name="skip"/> in a valid packed run.</summary>
    public static int SkipItems(ReadOnlySpan<byte> items, long skip)
    {
        var position = 0;
        for (long i = 0; i < skip; i++)
        {
            TryReadVarint(items[position..], out var length, out var consumed);
            position += consumed + (int)length;
        }

        return position;
    }

    /// <summary>Encodes strings as a packed run (tests, the demo, small requests).</summary>
    public static ByteString Encode(IEnumerable<string> items)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        foreach (var item in items)
        {
            var byteCount = Encoding.UTF8.GetByteCount(item);
            var span = buffer.GetSpan(5 + byteCount);
            var written = WriteVarint(span, (uint)byteCount);
            written += Encoding.UTF8.GetBytes(item, span[written..]);
            buffer.Advance(written);
        }

        return ByteString.CopyFrom(buffer.WrittenSpan);
    }

    /// <summary>Decodes a valid packed run into strings.</summary>
    public static List<string> Decode(ReadOnlySpan<byte> items)
    {
        var result = new List<string>();
        var reader = new PackedItemsReader(items);
        while (reader.TryRead(out var item))
        {
            result.Add(Encoding.UTF8.GetString(item));
        }

        return result;
    }
}

/// <summary>Walks a packed run one item at a time, without allocating.</summary>
public ref struct PackedItemsReader
{
    private ReadOnlySpan<byte> _rest;

    public PackedItemsReader(ReadOnlySpan<byte> items) => _rest = items;

    public bool TryRead(out ReadOnlySpan<byte> item)
    {
        if (_rest.IsEmpty || !PackedItems.TryReadVarint(_rest, out var length, out var consumed)
                          || length > _rest.Length - consumed)
        {
            item = default;
            return false;
        }

        item = _rest.Slice(consumed, (int)length);
        _rest = _rest[(consumed + (int)length)..];
        return true;
    }
}

public enum PackedItemsProblem
{
    Malformed,
    TooLarge,
    InvalidUtf8,
}

public sealed record PackedItemsError(PackedItemsProblem Problem, uint Index, string Message);
