using Actors.Client;
using Hosting;
using Worker;

namespace Worker.Tests;

public sealed class CommandLineSpecs
{
    [Fact]
    public void CommandLine_should_parse_an_append_with_items()
    {
        var line = CommandLine.Parse(["append", "--aggregator", "127.0.0.1:25520", "--id", "w1", "--list", "orders", "a", "b"])!;

        Assert.Equal(("append", "w1", "orders"), (line.Command, line.ProducerId, line.List));
        Assert.Equal([new Endpoint("127.0.0.1", 25520)], line.Aggregators);
        Assert.Equal(["a", "b"], line.Items);
    }

    [Fact]
    public void CommandLine_should_take_dash_as_stdin_and_default_the_list()
    {
        var line = CommandLine.Parse(["append", "--aggregator", "host:1", "-"])!;

        Assert.Equal(("-", "default"), (line.File, line.List));
        Assert.Equal("-", CommandLine.Parse(["append", "--aggregator", "host:1", "--file", "-"])!.File);
    }

    [Fact]
    public void CommandLine_should_take_every_argument_after_a_double_dash_as_an_item()
    {
        var line = CommandLine.Parse(["append", "--aggregator", "host:1", "--", "-", "--json"])!;

        Assert.Null(line.File);
        Assert.Equal(["-", "--json"], line.Items);
        Assert.False(line.Json);
    }

    [Fact]
    public void CommandLine_should_accept_option_equals_value_and_common_options_before_the_command()
    {
        var line = CommandLine.Parse(["--config=w.hocon", "get", "--aggregator=h:7", "--list=orders", "--from=3", "--count=2"])!;

        Assert.Equal(("get", "w.hocon", "orders", 3ul, 2ul), (line.Command, line.ConfigFile, line.List, line.From, line.Count));
        Assert.Equal([new Endpoint("h", 7)], line.Aggregators);
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
    public void CommandLine_should_answer_help_with_null_and_write_the_generated_help()
    {
        using var output = new StringWriter();

        Assert.Null(CommandLine.Parse(["help"], output));
        Assert.Contains("append", output.ToString());
        Assert.Contains("--aggregator <HOST:PORT[,HOST:PORT...]>", output.ToString());
    }

    [Fact]
    public void Latency_percentiles_should_be_nearest_rank()
    {
        var sorted = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();

        Assert.Equal((50.0, 99.0, 100.0), (RoundTrips.Percentile(sorted, 50), RoundTrips.Percentile(sorted, 99), RoundTrips.Percentile(sorted, 100)));
        Assert.Equal(7.0, RoundTrips.Percentile([7.0], 99));
    }

    [Fact]
    public void CommandLine_should_take_several_aggregators_separated_by_commas()
    {
        var line = CommandLine.Parse(["count", "--aggregator", "10.0.0.1:25520,[::1]:25521, node-3:25522"])!;

        Assert.Equal([new Endpoint("10.0.0.1", 25520), new Endpoint("::1", 25521), new Endpoint("node-3", 25522)], line.Aggregators);
        Assert.Contains("--aggregator names h:1 twice",
            Assert.Throws<UsageException>(() => CommandLine.Parse(["count", "--aggregator", "h:1,h:1"])).Message);
        Assert.Contains("--aggregator 'h:1,' has an empty entry",
            Assert.Throws<UsageException>(() => CommandLine.Parse(["count", "--aggregator", "h:1,"])).Message);
    }

    [Fact]
    public void CommandLine_should_parse_an_ipv6_endpoint() =>
        Assert.Equal([new Endpoint("::1", 25520)], Endpoint.ParseList("[::1]:25520", "--aggregator", e => throw new InvalidOperationException(e)));

    [Fact]
    public void CommandLine_without_aggregator_should_take_the_environment_variable_else_the_local_default()
    {
        var variable = Environment.GetEnvironmentVariable(CommandLine.AggregatorVariable);
        var expected = string.IsNullOrWhiteSpace(variable) ? CommandLine.DefaultAggregator : variable.Trim();

        var line = CommandLine.Parse(["append", "x"])!;

        Assert.Equal(expected, string.Join(",", line.Aggregators));
        Assert.Equal("127.0.0.1:25520", CommandLine.DefaultAggregator);
    }

    [Theory]
    [InlineData(new[] { "append", "--aggregator", "127.0.0.1:25520", "--bogus" }, "unknown option '--bogus' for 'append'")]
    [InlineData(new[] { "append", "--aggregator" }, "Required argument missing for option: '--aggregator'")]
    [InlineData(new[] { "append", "--aggregator", "localhost" }, "is not HOST:PORT")]
    [InlineData(new[] { "append", "--aggregator", "localhost:99999" }, "is not a port number")]
    [InlineData(new[] { "append", "--aggregator", "h:1", "--list", "a/b" }, "list name 'a/b'")]
    [InlineData(new[] { "append", "--aggregator", "h:1", "--file", "f", "item" }, "give items as arguments or with --file, not both")]
    [InlineData(new[] { "append", "--aggregator", "h:1", "--file", "f", "-" }, "give the input with --file or as - (stdin), not both")]
    [InlineData(new[] { "append", "--aggregator", "h:1", "--connect-timeout", "soon" }, "not a number of seconds")]
    [InlineData(new[] { "count", "--aggregator", "h:1", "extra" }, "unexpected argument 'extra'")]
    [InlineData(new[] { "get", "--aggregator", "h:1", "--from", "-3" }, "--from '-3' is not a whole number")]
    [InlineData(new[] { "frobnicate" }, "unexpected argument 'frobnicate'")]
    [InlineData(new string[0], "Required command was not provided")]
    [InlineData(new[] { "count", "--aggregator", "h:1", "--tls-ca", "ca.pem" }, "--tls-key and --tls-ca go with --tls-cert")]
    public void CommandLine_should_refuse_bad_usage_with_a_clear_message(string[] args, string message)
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse(args));

        Assert.Contains(message, error.Message);
    }
}
