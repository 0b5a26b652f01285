using Protocol;

namespace Aggregator.Lists;

/// <summary>
/// The items of one list, stored in the wire's packed form (varint length + UTF-8 bytes)
/// in large segments, with a sparse index: one position for every <see cref="Stride"/>
/// items. A 13-byte item costs 14 bytes plus half a byte of index, instead of a .NET
/// string's ~50; an append is a validated copy, a read a copy of contiguous runs.
/// A segment is sealed once the next one starts: from then on it never changes, so it can
/// be journaled once (<see cref="Segment"/>) and taken back whole (<see cref="AdoptSegment"/>).
/// Not thread-safe: owned by one actor.
/// </summary>
public sealed class ItemLog
{
    /// <summary>Items per index entry: a read skips at most Stride - 1 items.</summary>
    public const int Stride = 16;

    public const int DefaultSegmentBytes = 1 << 20;

    private readonly int _segmentBytes;
    private readonly List<byte[]> _segments = [];
    private readonly List<int> _used = [];
    private readonly List<long> _firsts = [];
    private long[] _index = new long[256];
    private byte[] _current = [];
    private int _currentUsed;
    private long _count;
    private long _bytes;

    public ItemLog(int segmentBytes = DefaultSegmentBytes) => _segmentBytes = segmentBytes;

    /// <summary>Number of items.</summary>
    public long Count => _count;

    /// <summary>Segments, the last one (still written to) included.</summary>
    public int SegmentCount => _segments.Count;

    /// <summary>Packed bytes stored (lengths and items), not counting slack and index.</summary>
    public long PackedBytes => _bytes;

    /// <summary>Bytes held: segments and index, the figure memory per item is judged by.</summary>
    public long AllocatedBytes
    {
        get
        {
            long total = _index.LongLength * sizeof(long);
            foreach (var segment in _segments)
            {
                total += segment.Length;
            }

            return total;
        }
    }

    /// <summary>Appends <paramref name="count"/> items from a packed run already validated.</summary>
    public void AppendPacked(ReadOnlySpan<byte> packed, long count)
    {
        if (count == 0)
        {
            return;
        }

        var position = 0;
        var runStart = 0;
        for (long n = 0; n < count; n++)
        {
            PackedItems.TryReadVarint(packed[position..], out var length, out var consumed);
            var size = consumed + (int)length;
            var runLength = position - runStart;
            if (_currentUsed + runLength + size > _current.Length)
            {
                packed.Slice(runStart, runLength).CopyTo(_current.AsSpan(_currentUsed));
                _currentUsed += runLength;
                runStart = position;
                runLength = 0;
                NewSegment(size);
            }

            if (_count % Stride == 0)
            {
                AddIndex(_segments.Count - 1, _currentUsed + runLength);
            }

            position += size;
            _count++;
        }

        packed[runStart..position].CopyTo(_current.AsSpan(_currentUsed));
        _currentUsed += position - runStart;
        _used[^1] = _currentUsed;
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

        var entry = _index[from / Stride];
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

    /// <summary>
    /// The items from segment <paramref name="fromSegment"/> on as packed runs, one per
    /// segment, without copying them (for a snapshot).
    /// They stay valid and unchanged whatever the log does next: a segment is only ever
    /// appended to past what a run covers, and <see cref="Clear"/> lets go of segments
    /// rather than reusing them.
    /// </summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Runs(int fromSegment = 0)
    {
        var runs = new ReadOnlyMemory<byte>[Math.Max(0, _segments.Count - fromSegment)];
        for (var i = 0; i < runs.Length; i++)
        {
            runs[i] = _segments[fromSegment + i].AsMemory(0, _used[fromSegment + i]);
        }

        return runs;
    }

    /// <summary>
    /// How many segments from the first are sealed and hold only items below
    /// <paramref name="length"/> (the durable length): those that can be journaled. The
    /// search starts at <paramref name="atLeast"/>, a count already known to qualify.
    /// </summary>
    public int SealedSegmentsBelow(long length, int atLeast = 0)
    {
        var sealedCount = _segments.Count - 1;
        var k = atLeast;
        while (k < sealedCount && _firsts[k + 1] <= length)
        {
            k++;
        }

        return k;
    }

    /// <summary>How many items the segments before segment <paramref name="index"/> hold.</summary>
    public long ItemsBefore(int index) => index < _firsts.Count ? _firsts[index] : _count;

    /// <summary>Segment <paramref name="index"/>: its packed items (not copied), the index of its first item and its item count.</summary>
    public (ReadOnlyMemory<byte> Packed, long FirstItem, long Count) Segment(int index)
    {
        var end = index + 1 < _firsts.Count ? _firsts[index + 1] : _count;
        return (_segments[index].AsMemory(0, _used[index]), _firsts[index], end - _firsts[index]);
    }

    /// <summary>
    /// Takes <paramref name="packed"/>'s first <paramref name="used"/> bytes (<paramref name="count"/>
    /// items, checked when journaled) as a sealed segment, without copying them: items
    /// appended after it start a new segment.
    /// </summary>
    public void AdoptSegment(byte[] packed, int used, long count)
    {
        if (_current.Length > 0)
        {
            _used[^1] = _currentUsed;
        }

        var segment = _segments.Count;
        _segments.Add(packed);
        _used.Add(used);
        _firsts.Add(_count);
        var offset = 0;
        for (long n = 0; n < count; n++)
        {
            if (_count % Stride == 0)
            {
                AddIndex(segment, offset);
            }

            offset += offset < used ? ItemSize(packed, offset) : 1;
            _count++;
        }

        if (offset != used)
        {
            throw new InvalidDataException($"a segment of {used} bytes does not hold exactly {count} packed items");
        }

        _bytes += used;
        _current = [];
        _currentUsed = 0;
    }

    /// <summary>Forgets every item.</summary>
    public void Clear()
    {
        _segments.Clear();
        _used.Clear();
        _firsts.Clear();
        _index = new long[256];
        _current = [];
        _currentUsed = 0;
        _count = 0;
        _bytes = 0;
    }

    private static int ItemSize(byte[] segment, int offset)
    {
        PackedItems.TryReadVarint(segment.AsSpan(offset), out var length, out var consumed);
        return consumed + (int)length;
    }

    private void NewSegment(int atLeast)
    {
        if (_current.Length > 0)
        {
            _used[^1] = _currentUsed;
        }

        _current = new byte[Math.Max(_segmentBytes, atLeast)];
        _currentUsed = 0;
        _segments.Add(_current);
        _used.Add(0);
        _firsts.Add(_count);
    }

    private void AddIndex(int segment, int offset)
    {
        var slot = _count / Stride;
        if (slot == _index.LongLength)
        {
            Array.Resize(ref _index, _index.Length * 2);
        }

        _index[slot] = ((long)segment << 32) | (uint)offset;
    }
}
