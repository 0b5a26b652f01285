using Aggregator;
using Protocol;

namespace Aggregator.Tests;

public sealed class ItemLogSpecs
{
    [Fact]
    public void ItemLog_should_start_again_from_empty_after_a_clear()
    {
        var log = new ItemLog(segmentBytes: 64);
        log.AppendPacked(PackedItems.Encode(Enumerable.Range(0, 50).Select(i => $"item-{i}")).Span, 50);

        log.Clear();
        log.AppendPacked(PackedItems.Encode(["after", "the", "clear"]).Span, 3);

        Assert.Equal(3, log.Count);
        Assert.Equal(["after", "the", "clear"], PackedItems.Decode(log.Read(0, 10, 1000).Packed));
    }

    [Fact]
    public void ItemLog_should_find_items_past_the_first_chunks_of_its_index()
    {
        // Four index chunks' worth of items (64 Ki entries of 16 items each).
        const int count = 4 * 65536 * ItemLog.Stride + 5;
        var log = new ItemLog();
        log.AppendPacked(PackedItems.Encode(Enumerable.Range(0, count).Select(i => (i % 1000).ToString(System.Globalization.CultureInfo.InvariantCulture))).Span, count);

        foreach (var at in new[] { 0L, 65536L * ItemLog.Stride - 1, 65536L * ItemLog.Stride, 3L * 65536 * ItemLog.Stride + 7, count - 1 })
        {
            Assert.Equal([(at % 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)], PackedItems.Decode(log.Read(at, 1, 100).Packed));
        }
    }

    [Fact]
    public void ItemLog_should_read_back_any_range_across_segment_boundaries()
    {
        var random = new Random(7);
        var expected = new List<string>();
        var log = new ItemLog(segmentBytes: 64);
        for (var batch = 0; batch < 60; batch++)
        {
            var items = Enumerable.Range(0, random.Next(0, 20))
                // One item in eight is 128 bytes or more: a length of two bytes, and often a segment of its own.
                .Select(_ => new string((char)('a' + random.Next(26)), random.Next(8) == 0 ? random.Next(128, 200) : random.Next(0, 40)))
                .ToArray();
            log.AppendPacked(PackedItems.Encode(items).Span, items.Length);
            expected.AddRange(items);
        }

        Assert.Equal(expected.Count, log.Count);
        for (var from = 0; from < expected.Count; from++)
        {
            var maxCount = random.Next(1, 50);
            var maxBytes = random.Next(1, 300);
            var (packed, count) = log.Read(from, maxCount, maxBytes);

            var items = PackedItems.Decode(packed);
            Assert.Equal(count, items.Count);
            Assert.True(count >= 1 && count <= maxCount);
            Assert.True(count == 1 || packed.Length <= maxBytes, $"{packed.Length} bytes over {maxBytes}");
            Assert.Equal(expected.Skip(from).Take(count), items);
        }
    }

    [Fact]
    public void ItemLog_should_hold_an_item_larger_than_a_segment()
    {
        var log = new ItemLog(segmentBytes: 16);
        string[] items = ["small", new string('L', 100), "after"];

        log.AppendPacked(PackedItems.Encode(items).Span, items.Length);

        Assert.Equal(items, PackedItems.Decode(log.Read(0, 10, 1000).Packed));
    }

    [Fact]
    public void ItemLog_should_answer_nothing_outside_the_list()
    {
        var log = new ItemLog();
        log.AppendPacked(PackedItems.Encode(["a"]).Span, 1);

        Assert.Equal(0, log.Read(1, 10, 100).Count);
        Assert.Equal(0, log.Read(-1, 10, 100).Count);
        Assert.Equal(0, log.Read(0, 0, 100).Count);
    }

    [Fact]
    public void ItemLog_should_store_a_13_byte_item_in_at_most_16_bytes()
    {
        var log = new ItemLog();
        const int items = 1_000_000;
        for (var start = 0; start < items; start += 5000)
        {
            var batch = Enumerable.Range(start, 5000).Select(i => $"it-0-{i:D8}").ToArray();
            log.AppendPacked(PackedItems.Encode(batch).Span, batch.Length);
        }

        var perItem = (double)log.AllocatedBytes / log.Count;

        Assert.True(perItem <= 16, $"{perItem:0.00} bytes per item");
        Assert.Equal(["it-0-00999999"], PackedItems.Decode(log.Read(items - 1, 1, 100).Packed));
    }
}
