using System.Text;
using Worker;

namespace Worker.Tests;

public sealed class InputReaderSpecs
{
    [Fact]
    public void InputReader_should_read_lines_with_either_line_ending_and_a_last_line_without_one()
    {
        using var reader = Reader("one\r\ntwo\n\nfour");

        Assert.Equal(["one", "two", "", "four"], ReadAll(reader));
        Assert.Equal(4, reader.ItemsRead);
    }

    [Fact]
    public void InputReader_should_leave_a_byte_order_mark_at_the_start_out_of_the_first_item_only()
    {
        using var reader = Reader("\uFEFFone\r\n\uFEFFtwo\r\n");

        reader.CheckAllAndRewind(); // read through once, as a file is: the first item again after it
        Assert.Equal(["one", "\uFEFFtwo"], ReadAll(reader));
    }

    [Fact]
    public void InputReader_should_not_count_a_byte_order_mark_against_the_first_items_size()
    {
        const int max = 1 << 20; // as large as the read buffer: the line is measured before its end is read
        using var reader = Reader("\uFEFF" + new string('x', max) + "\n", max);

        Assert.True(reader.TryRead(out var item));
        Assert.Equal(max, item.Length);
    }

    [Fact]
    public void InputReader_should_read_nothing_from_an_empty_input()
    {
        using var reader = Reader(string.Empty);

        Assert.False(reader.TryRead(out _));
        Assert.Equal(0, reader.ItemsRead);
    }

    [Fact]
    public void InputReader_should_read_a_long_input_item_by_item_without_losing_one()
    {
        var lines = Enumerable.Range(0, 100_000).Select(i => $"item-{i}").ToArray();
        using var reader = Reader(string.Join('\n', lines) + "\n");

        Assert.Equal(lines, ReadAll(reader));
        Assert.Equal(lines.Length, reader.ItemsRead);
    }

    [Fact]
    public void InputReader_should_skip_the_items_already_applied()
    {
        using var reader = Reader("a\nb\nc\nd\n");

        Assert.Equal(2ul, reader.Skip(2));

        Assert.Equal(["c", "d"], ReadAll(reader));
    }

    [Fact]
    public void InputReader_should_name_the_line_of_an_item_over_the_limit()
    {
        using var reader = Reader("ok\n" + new string('x', 11) + "\nafter\n", maxItemBytes: 10);

        var error = Assert.Throws<InputException>(() => ReadAll(reader));

        Assert.Equal(2, error.ItemNumber);
        Assert.Contains("line 2 is 11 bytes; the limit is 10 bytes", error.Message);
    }

    [Fact]
    public void InputReader_should_hand_out_the_items_before_a_bad_one_then_report_it()
    {
        using var reader = Reader("one\ntwo\n" + new string('x', 11) + "\nfour\n", maxItemBytes: 10);

        var before = new List<string>();
        var error = Assert.Throws<InputException>(() =>
        {
            while (reader.TryRead(out var item))
            {
                before.Add(Encoding.UTF8.GetString(item.Span));
            }
        });

        Assert.Equal(["one", "two"], before);
        Assert.Equal(3, error.ItemNumber);
    }

    [Fact]
    public void InputReader_should_refuse_a_line_longer_than_its_buffer_without_holding_it_all()
    {
        using var reader = Reader("first\n" + new string('y', 3 << 20) + "\n", maxItemBytes: 100);

        var error = Assert.Throws<InputException>(() => ReadAll(reader));

        Assert.Contains("line 2 is longer than the limit of 100 bytes", error.Message);
    }

    [Fact]
    public void InputReader_should_name_the_line_and_byte_of_invalid_utf8()
    {
        var bytes = "good\nba"u8.ToArray().Concat(new byte[] { 0xC3, 0x28 }).Concat("\n"u8.ToArray()).ToArray();
        using var reader = InputReader.FromStream(new MemoryStream(bytes), 100);

        var error = Assert.Throws<InputException>(() => ReadAll(reader));

        Assert.Contains("line 2 is not valid UTF-8 (at byte 3)", error.Message);
    }

    [Fact]
    public void InputReader_should_say_when_the_input_file_does_not_exist()
    {
        var error = Assert.Throws<InputException>(() => InputReader.FromFile("/no/such/dir/items.txt", 100));

        Assert.Contains("'/no/such/dir/items.txt' does not exist", error.Message);
    }

    [Fact]
    public void InputReader_should_read_arguments_as_items()
    {
        using var reader = InputReader.FromArguments(["a b", "ünï", ""], 100);

        Assert.Equal(["a b", "ünï", ""], ReadAll(reader));
    }

    private static InputReader Reader(string text, int maxItemBytes = 1000) =>
        InputReader.FromStream(new MemoryStream(Encoding.UTF8.GetBytes(text)), maxItemBytes);

    private static List<string> ReadAll(InputReader reader)
    {
        var items = new List<string>();
        while (reader.TryRead(out var item))
        {
            items.Add(Encoding.UTF8.GetString(item.Span));
        }

        return items;
    }
}
