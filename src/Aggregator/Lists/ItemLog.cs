using System.Runtime.InteropServices;
using Protocol;

namespace Aggregator.Lists;

/// <summary>
/// The items of one list, stored in the wire's packed form (varint length + UTF-8 bytes)
/// in large segments, with a sparse index: one position for every <see cref="Stride"/>
/// items. A 13-byte item costs 14 bytes plus an eighth of a byte of index, instead of a .NET
/// string's ~50; an append is a validated copy, a read a copy of contiguous runs. Segments
/// (1 MiB) and index chunks (16 Ki entries, the first one growing to that) are large objects
/// that are never moved nor copied once full: a growing list leaves almost no garbage behind.
/// Not thread-safe: owned by one actor.
/// </summary>
public sealed class ItemLog
{
    /// <summary>
    /// Items per index entry: a read skips at most Stride - 1 items, a one-byte read and an
    /// add each. 64 keeps the index at 0.125 bytes per item (16: 0.5).
    /// </summary>
    public const int Stride = 64;

    public const int DefaultSegmentBytes = 1 << 20;

    /// <summary>The smallest run of items <see cref="Adopt"/> takes as a segment of its own.</summary>
    public const int AdoptMinBytes = Storage.JournalRows.PinnedMinBytes;

    /// <summary>Index entries per chunk: 128 KiB, for 1 Mi items.</summary>
    public const int ChunkEntries = 1 << 14;

    private readonly int _segmentBytes;
    private readonly List<byte[]> _segments = [];
    private readonly List<int> _used = [];
    private readonly List<long[]> _index = [];
    private byte[] _current = [];
    private int _currentUsed;
    private long _count;
    private long _bytes;

    public ItemLog(int segmentBytes = DefaultSegmentBytes) => _segmentBytes = segmentBytes;

    /// <summary>Number of items.</summary>
    public long Count => _count;

    /// <summary>Packed bytes stored (lengths and items), not counting slack and index.</summary>
    public long PackedBytes => _bytes;

    /// <summary>Bytes held: segments and index, the figure memory per item is judged by.</summary>
    public long AllocatedBytes
    {
        get
        {
            long total = _index.Sum(chunk => (long)chunk.Length * sizeof(long));
            foreach (var segment in _segments)
            {
                total += segment.Length;
            }

            return total;
        }
    }

    /// <summary>Appends <paramref name="count"/> items from a packed run already validated.</summary>
    /// <remarks>The hot loop of appends and of recovery's small events: one pass over the items' lengths, copying contiguous runs.</remarks>
    public void AppendPacked(ReadOnlySpan<byte> packed, long count)
    {
        if (count == 0)
        {
            return;
        }

        var position = 0;
        var runStart = 0;
        var stored = _count;
        var room = _current.Length - _currentUsed;
        for (long n = 0; n < count; n++)
        {
            var size = ItemSize(packed, position);
            if (position - runStart + size > room)
            {
                var runLength = position - runStart;
                packed.Slice(runStart, runLength).CopyTo(_current.AsSpan(_currentUsed));
                _currentUsed += runLength;
                runStart = position;
                NewSegment(size);
                room = _current.Length;
            }

            if (stored % Stride == 0)
            {
                AddIndex(stored, _segments.Count - 1, _currentUsed + position - runStart);
            }

            position += size;
            stored++;
        }

        _count = stored;
        packed[runStart..position].CopyTo(_current.AsSpan(_currentUsed));
        _currentUsed += position - runStart;
        _used[^1] = _currentUsed;
        _bytes += position;
    }

    /// <summary>
    /// The array behind <paramref name="packed"/> when a list may keep it as a segment of its
    /// own: exactly that array, and at least <see cref="AdoptMinBytes"/> long (a smaller run is
    /// copied, so that a list of small batches keeps few, full segments). Null otherwise.
    /// </summary>
    public static byte[]? CanAdopt(ReadOnlyMemory<byte> packed) =>
        packed.Length >= AdoptMinBytes && MemoryMarshal.TryGetArray(packed, out var whole) && whole.Offset == 0 && whole.Count == whole.Array!.Length
            ? whole.Array
            : null;

    /// <summary>
    /// Keeps <paramref name="packed"/>, <paramref name="count"/> items already validated, as a
    /// segment of its own instead of copying it: for an array that nothing else holds or
    /// changes, such as the one the journal read a recovered event's items into (allocated on
    /// the pinned object heap, so the GC never copies it either). The segment being filled
    /// before it is cut to its used length, so that it holds no slack behind the new one.
    /// </summary>
    public void Adopt(byte[] packed, long count)
    {
        if (count == 0)
        {
            return;
        }

        if (_currentUsed > 0 && _currentUsed < _current.Length)
        {
            var used = GC.AllocateUninitializedArray<byte>(_currentUsed);
            _current.AsSpan(0, _currentUsed).CopyTo(used);
            _segments[^1] = used;
        }

        _segments.Add(packed);
        _used.Add(packed.Length);
        _current = packed;
        _currentUsed = packed.Length;
        var segment = _segments.Count - 1;
        var position = 0;
        var stored = _count;
        for (long n = 0; n < count; n++)
        {
            if (stored % Stride == 0)
            {
                AddIndex(stored, segment, position);
            }

            position += ItemSize(packed, position);
            stored++;
        }

        _count = stored;
        _bytes += position;
    }

    /// <summary>
    /// Copies up to <paramref name="maxCount"/> items from index <paramref name="from"/>, at
    /// most <paramref name="maxBytes"/> packed bytes (at least one item if any), into a new
    /// array; returns it and the number of items.
    /// </summary>
    public (byte[] Packed, int Count) Read(long from, int maxCount, int maxBytes)
    {
        if (from < 0 || from >= _count || maxCount <= 0)
        {
            return ([], 0);
        }

        var slot = from / Stride;
        var entry = _index[(int)(slot / ChunkEntries)][slot % ChunkEntries];
        var segment = (int)(entry >> 32);
        var offset = (int)entry;
        for (var skip = from % Stride; skip > 0; skip--)
        {
            offset += ItemSize(_segments[segment], offset);
            if (offset == _used[segment])
            {
                segment++;
                offset = 0;
            }
        }

        // First pass: how many items, how many bytes.
        var count = 0;
        var total = 0;
        var s = segment;
        var o = offset;
        while (count < maxCount && from + count < _count)
        {
            var size = ItemSize(_segments[s], o);
            if (count > 0 && total + size > maxBytes)
            {
                break;
            }

            total += size;
            count++;
            o += size;
            if (o == _used[s] && from + count < _count)
            {
                s++;
                o = 0;
            }
        }

        // Second pass: copy contiguous runs, one per segment touched.
        var result = new byte[total];
        var written = 0;
        while (written < total)
        {
            var run = Math.Min(_used[segment] - offset, total - written);
            _segments[segment].AsSpan(offset, run).CopyTo(result.AsSpan(written));
            written += run;
            segment++;
            offset = 0;
        }

        return (result, count);
    }

    /// <summary>Forgets every item.</summary>
    public void Clear()
    {
        _segments.Clear();
        _used.Clear();
        _index.Clear();
        _current = [];
        _currentUsed = 0;
        _count = 0;
        _bytes = 0;
    }

    /// <summary>
    /// The packed size of the item at <paramref name="offset"/>: its length's bytes and its
    /// own. A length under 128 is one byte, read here without a call: the general reader lives
    /// in Protocol, which ReadyToRun code cannot inline.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int ItemSize(ReadOnlySpan<byte> items, int offset)
    {
        int first = items[offset];
        if (first < 0x80)
        {
            return first + 1;
        }

        PackedItems.TryReadVarint(items[offset..], out var length, out var consumed);
        return consumed + (int)length;
    }

    private void NewSegment(int atLeast)
    {
        if (_current.Length > 0)
        {
            _used[^1] = _currentUsed;
        }

        // Every byte of a segment is written before it is read: no need to clear it first.
        _current = GC.AllocateUninitializedArray<byte>(Math.Max(_segmentBytes, atLeast));
        _currentUsed = 0;
        _segments.Add(_current);
        _used.Add(0);
    }

    private void AddIndex(long item, int segment, int offset)
    {
        // The first chunk grows (a small list keeps a small index); the next ones are whole.
        var slot = item / Stride;
        var (chunk, within) = ((int)(slot / ChunkEntries), (int)(slot % ChunkEntries));
        if (chunk == _index.Count)
        {
            _index.Add(new long[chunk == 0 ? 256 : ChunkEntries]);
        }
        else if (within == _index[chunk].Length)
        {
            var grown = _index[chunk];
            Array.Resize(ref grown, Math.Min(grown.Length * 2, ChunkEntries));
            _index[chunk] = grown;
        }

        _index[chunk][within] = ((long)segment << 32) | (uint)offset;
    }
}
