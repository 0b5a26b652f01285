using Worker;

namespace Worker.Tests;

public sealed class CommandLineSpecs
{
    [Fact]
    public void CommandLine_should_parse_an_append_with_items()
    {
        var line = CommandLine.Parse(["append", "--aggregator", "127.0.0.1:25520", "--id", "w1", "--list", "orders", "a", "b"])!;

        Assert.Equal(("append", "127.0.0.1", 25520, "w1", "orders"), (line.Command, line.AggregatorHost, line.AggregatorPort, line.ProducerId, line.List));
        Assert.Equal(["a", "b"], line.Items);
    }

    [Fact]
    public void CommandLine_should_take_dash_as_stdin_and_default_the_list()
    {
        var line = CommandLine.Parse(["append", "--aggregator", "host:1", "-"])!;

        Assert.Equal(("-", "default"), (line.File, line.List));
    }

    [Fact]
    public void CommandLine_should_parse_latency_with_a_count_and_refuse_zero()
    {
        var line = CommandLine.Parse(["latency", "--aggregator", "127.0.0.1:25520", "--count", "500", "--json"])!;

        Assert.Equal(("latency", 500ul, true), (line.Command, line.Count, line.Json));
        Assert.Contains("--count must be at least 1",
            Assert.Throws<UsageException>(() => CommandLine.Parse(["latency", "--aggregator", "h:1", "--count", "0"])).Message);
    }

    [Fact]
    public void Latency_percentiles_should_be_nearest_rank()
    {
        var sorted = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();

        Assert.Equal((50.0, 99.0, 100.0), (LatencyCommand.Percentile(sorted, 50), LatencyCommand.Percentile(sorted, 99), LatencyCommand.Percentile(sorted, 100)));
        Assert.Equal(7.0, LatencyCommand.Percentile([7.0], 99));
    }

    [Fact]
    public void CommandLine_should_parse_an_ipv6_endpoint() =>
        Assert.Equal(("::1", 25520), CommandLine.ParseEndpoint("[::1]:25520"));

    [Theory]
    [InlineData(new[] { "append", "--aggregator", "127.0.0.1:25520", "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "append", "--aggregator" }, "--aggregator needs a value")]
    [InlineData(new[] { "append", "x" }, "--aggregator HOST:PORT is required")]
    [InlineData(new[] { "append", "--aggregator", "localhost" }, "is not HOST:PORT")]
    [InlineData(new[] { "append", "--aggregator", "localhost:99999" }, "is not a port number")]
    [InlineData(new[] { "append", "--aggregator", "h:1", "--list", "a/b" }, "list name 'a/b'")]
    [InlineData(new[] { "append", "--aggregator", "h:1", "--file", "f", "item" }, "unexpected argument 'item'")]
    [InlineData(new[] { "append", "--aggregator", "h:1", "--connect-timeout", "soon" }, "not a number of seconds")]
    [InlineData(new[] { "count", "--aggregator", "h:1", "extra" }, "unexpected argument 'extra'")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [InlineData(new string[0], "a command is required")]
    public void CommandLine_should_refuse_bad_usage_with_a_clear_message(string[] args, string message)
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse(args));

        Assert.Contains(message, error.Message);
    }
}
