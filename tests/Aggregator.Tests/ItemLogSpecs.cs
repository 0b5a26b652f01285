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
        // Four index chunks' worth of items.
        const int chunk = ItemLog.ChunkEntries * ItemLog.Stride;
        const int count = (4 * chunk) + 5;
        var log = new ItemLog();
        log.AppendPacked(PackedItems.Encode(Enumerable.Range(0, count).Select(i => (i % 1000).ToString(System.Globalization.CultureInfo.InvariantCulture))).Span, count);

        foreach (var at in new[] { 0L, chunk - 1, chunk, (3L * chunk) + 7, count - 1 })
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

    /// <summary>
    /// Recovery keeps large events' arrays as segments (<see cref="ItemLog.Adopt"/>) between
    /// small ones it copies: every range reads back the same, whichever kind it spans.
    /// </summary>
    [Fact]
    public void ItemLog_should_read_back_any_range_across_adopted_and_copied_runs()
    {
        var random = new Random(11);
        var expected = new List<string>();
        var log = new ItemLog(segmentBytes: 4096);
        var adopted = 0;
        for (var batch = 0; batch < 40; batch++)
        {
            var items = Enumerable.Range(0, random.Next(3) > 0 ? random.Next(1500, 2500) : random.Next(0, 30))
                .Select(_ => new string((char)('a' + random.Next(26)), random.Next(16) == 0 ? random.Next(128, 200) : random.Next(0, 20)))
                .ToArray();
            var packed = PackedItems.Encode(items).ToByteArray();
            if (ItemLog.CanAdopt(packed) is { } whole)
            {
                log.Adopt(whole, items.Length);
                adopted++;
            }
            else
            {
                log.AppendPacked(packed, items.Length);
            }

            expected.AddRange(items);
        }

        Assert.InRange(adopted, 15, 35);
        Assert.Equal(expected.Count, log.Count);
        for (var from = 0; from < expected.Count; from += random.Next(1, 40))
        {
            var (packed, count) = log.Read(from, random.Next(1, 3000), random.Next(1, 40_000));
            Assert.Equal(expected.Skip(from).Take(count), PackedItems.Decode(packed));
        }
    }

    [Fact]
    public void ItemLog_should_adopt_only_a_whole_array_of_at_least_16_KiB_and_leave_no_slack_behind_the_segment_before()
    {
        var large = PackedItems.Encode(Enumerable.Range(0, 2000).Select(i => $"item-{i:D6}")).ToByteArray();
        Assert.Same(large, ItemLog.CanAdopt(large));
        Assert.Null(ItemLog.CanAdopt(large.AsMemory(0, large.Length - 12)));
        Assert.Null(ItemLog.CanAdopt(large.AsMemory(12)));
        Assert.Null(ItemLog.CanAdopt(PackedItems.Encode(["small"]).ToByteArray()));

        var log = new ItemLog();
        log.AppendPacked(PackedItems.Encode(["a", "b"]).Span, 2);
        log.Adopt(large, 2000);

        // The 1 MiB segment of "a" and "b" was cut to their 4 bytes; the index's first chunk is 256 entries.
        Assert.Equal(4 + large.Length + (256 * sizeof(long)), log.AllocatedBytes);
        Assert.Equal(["b", "item-000000"], PackedItems.Decode(log.Read(1, 2, 1000).Packed));
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
    public void ItemLog_should_store_a_13_byte_item_in_at_most_15_bytes()
    {
        var log = new ItemLog();
        const int items = 1_000_000;
        for (var start = 0; start < items; start += 5000)
        {
            var batch = Enumerable.Range(start, 5000).Select(i => $"it-0-{i:D8}").ToArray();
            log.AppendPacked(PackedItems.Encode(batch).Span, batch.Length);
        }

        var perItem = (double)log.AllocatedBytes / log.Count;

        // 14 bytes packed, an eighth of a byte of index, and the last segment's free space.
        Assert.True(perItem <= 15, $"{perItem:0.00} bytes per item");
        Assert.Equal(["it-0-00999999"], PackedItems.Decode(log.Read(items - 1, 1, 100).Packed));
    }
}
