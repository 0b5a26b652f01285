using Aggregator;
using Protocol;

namespace Aggregator.Tests;

public sealed class ItemLogSpecs
{
    [Fact]
    public void ItemLog_should_give_runs_that_hold_every_item_and_stay_unchanged_by_later_appends_and_a_clear()
    {
        var log = new ItemLog(segmentBytes: 64);
        var items = Enumerable.Range(0, 50).Select(i => $"item-{i}").ToArray();
        log.AppendPacked(PackedItems.Encode(items).Span, items.Length);

        var runs = log.Runs();
        var before = runs.Select(r => r.ToArray()).ToArray();
        log.AppendPacked(PackedItems.Encode(["later", "items"]).Span, 2);
        log.Clear();
        log.AppendPacked(PackedItems.Encode(["after", "the", "clear"]).Span, 3);

        Assert.True(runs.Count > 1, "the items span several segments");
        Assert.Equal(before, runs.Select(r => r.ToArray()).ToArray());
        Assert.Equal(items, PackedItems.Decode(runs.SelectMany(r => r.ToArray()).ToArray()));
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
                .Select(_ => new string((char)('a' + random.Next(26)), random.Next(0, 40)))
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

    [Fact]
    public void ItemLog_should_name_its_sealed_segments_below_a_length_and_give_them_back_whole()
    {
        var log = new ItemLog(segmentBytes: 64);
        var items = Enumerable.Range(0, 100).Select(i => $"item-{i:D3}").ToArray(); // 9 bytes packed: 7 per segment
        log.AppendPacked(PackedItems.Encode(items).Span, items.Length);

        Assert.Equal(15, log.SegmentCount);
        Assert.Equal(14, log.SealedSegmentsBelow(100));
        Assert.Equal(2, log.SealedSegmentsBelow(20)); // segment 2 holds items 14-20: item 20 is not below 20
        Assert.Equal(3, log.SealedSegmentsBelow(21));
        Assert.Equal(0, log.SealedSegmentsBelow(6));
        var (packed, first, count) = log.Segment(2);
        Assert.Equal((14L, 7L), (first, count));
        Assert.Equal(items[14..21], PackedItems.Decode(packed.ToArray()));
        Assert.Equal(98, log.ItemsBefore(14));
        Assert.Equal(100, log.ItemsBefore(15));
    }

    [Fact]
    public void ItemLog_should_read_adopted_segments_and_the_items_appended_after_them_as_one_list()
    {
        var original = new ItemLog(segmentBytes: 64);
        var items = Enumerable.Range(0, 100).Select(i => $"item-{i:D3}").ToArray();
        original.AppendPacked(PackedItems.Encode(items).Span, items.Length);

        var restored = new ItemLog(segmentBytes: 64);
        for (var i = 0; i < 10; i++)
        {
            var (packed, _, count) = original.Segment(i);
            restored.AdoptSegment(packed.ToArray(), packed.Length, count);
        }

        for (var i = 10; i < original.SegmentCount; i++)
        {
            var (packed, _, count) = original.Segment(i);
            restored.AppendPacked(packed.Span, count);
        }

        Assert.Equal(100, restored.Count);
        for (var from = 0; from < 100; from += 7)
        {
            Assert.Equal(items.Skip(from).Take(13), PackedItems.Decode(restored.Read(from, 13, 1000).Packed));
        }

        Assert.Equal(10, restored.SealedSegmentsBelow(70)); // the adopted ones, then items 70-99 in new segments
    }

    [Fact]
    public void ItemLog_should_refuse_a_segment_that_does_not_hold_the_items_it_claims()
    {
        var packed = PackedItems.Encode(["a", "b", "c"]).ToByteArray();
        var log = new ItemLog();

        Assert.Throws<InvalidDataException>(() => log.AdoptSegment(packed, packed.Length, 4));
        Assert.Throws<InvalidDataException>(() => new ItemLog().AdoptSegment(packed, packed.Length, 2));
    }
}
