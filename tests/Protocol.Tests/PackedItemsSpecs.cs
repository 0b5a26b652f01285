using Protocol;

namespace Protocol.Tests;

public sealed class PackedItemsSpecs
{
    [Fact]
    public void PackedItems_should_round_trip_items_of_every_length_class()
    {
        string[] items = ["", "a", "ünïcødé ✓ 🎉", new string('x', 127), new string('y', 128), new string('z', 20000)];

        var packed = PackedItems.Encode(items);

        Assert.Equal(items, PackedItems.Decode(packed.Span));
        Assert.Null(PackedItems.Validate(packed.Span, (uint)items.Length, 65536));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(127u)]
    [InlineData(128u)]
    [InlineData(16384u)]
    [InlineData(uint.MaxValue)]
    public void PackedItems_should_read_back_every_varint_it_writes(uint value)
    {
        var buffer = new byte[5];

        var written = PackedItems.WriteVarint(buffer, value);

        Assert.Equal(PackedItems.VarintSize(value), written);
        Assert.True(PackedItems.TryReadVarint(buffer.AsSpan(0, written), out var read, out var consumed));
        Assert.Equal(value, read);
        Assert.Equal(written, consumed);
    }

    [Fact]
    public void PackedItems_should_refuse_a_count_that_does_not_match()
    {
        var packed = PackedItems.Encode(["a", "b"]);

        Assert.Equal(PackedItemsProblem.Malformed, PackedItems.Validate(packed.Span, 3, 100)!.Problem);
        Assert.Equal(PackedItemsProblem.Malformed, PackedItems.Validate(packed.Span, 1, 100)!.Problem);
    }

    [Fact]
    public void PackedItems_should_refuse_an_item_cut_short()
    {
        var packed = PackedItems.Encode(["hello"]).ToByteArray()[..4];

        var error = PackedItems.Validate(packed, 1, 100);

        Assert.Equal(PackedItemsProblem.Malformed, error!.Problem);
        Assert.Equal(0u, error.Index);
    }

    [Fact]
    public void PackedItems_should_refuse_an_item_over_the_limit_naming_its_index()
    {
        var packed = PackedItems.Encode(["ok", new string('x', 11)]);

        var error = PackedItems.Validate(packed.Span, 2, 10);

        Assert.Equal(PackedItemsProblem.TooLarge, error!.Problem);
        Assert.Equal(1u, error.Index);
    }

    [Fact]
    public void PackedItems_should_refuse_invalid_utf8()
    {
        byte[] packed = [2, 0xC3, 0x28];

        Assert.Equal(PackedItemsProblem.InvalidUtf8, PackedItems.Validate(packed, 1, 100)!.Problem);
    }

    [Fact]
    public void PackedItems_should_refuse_a_length_varint_longer_than_five_bytes()
    {
        byte[] packed = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];

        Assert.Equal(PackedItemsProblem.Malformed, PackedItems.Validate(packed, 1, 100)!.Problem);
    }

    [Fact]
    public void PackedItems_should_skip_to_the_byte_position_of_an_item()
    {
        var packed = PackedItems.Encode(["aa", "bbb", "c"]);

        var position = PackedItems.SkipItems(packed.Span, 2);

        Assert.Equal(["c"], PackedItems.Decode(packed.Span[position..]));
    }
}
