using System.Text;

namespace EndToEnd.Tests;

/// <summary>An aggregator holding a list that every bad-input case must leave exactly as it was.</summary>
public sealed class BaselineAggregator : IAsyncLifetime
{
    public static readonly string[] Baseline = ["base-1", "base-2", "base-3"];

    private ServedAggregator? _aggregator;

    internal ServedAggregator Aggregator => _aggregator ?? throw new InvalidOperationException("not started");

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("e2e-bad-input").FullName;

    public async Task InitializeAsync()
    {
        _aggregator = await ServedAggregator.StartAsync();
        try
        {
            await _aggregator.WorkerAsync(["append", "--list", "base", "--id", "baseline", .. Baseline]);
        }
        catch
        {
            await _aggregator.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }

        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>The path of a new file in the fixture's directory holding <paramref name="bytes"/>.</summary>
    public string File(string name, byte[] bytes)
    {
        var path = Path.Combine(Directory, name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }
}

/// <summary>
/// The bad-input matrix, end to end: each case's exit code and message, and the baseline
/// list unchanged afterwards (nothing acknowledged before a bad input is ever lost).
/// </summary>
public sealed class BadInputTests(BaselineAggregator baseline) : IClassFixture<BaselineAggregator>
{
    private delegate string[] Arguments(BaselineAggregator fixture, string endpoint);

    private static readonly Dictionary<string, (Arguments Args, int Exit, string[] Says)> WorkerCases = new()
    {
        ["unknown option"] = ((_, e) => ["append", "--aggregator", e, "--list", "base", "--frobnicate", "x"], 2,
            ["unknown option '--frobnicate' for 'append'", "Usage:"]),
        ["missing value"] = ((_, e) => ["append", "--aggregator", e, "x", "--list"], 2, ["Required argument missing for option: '--list'"]),
        ["bad port"] = ((_, _) => ["append", "--aggregator", "127.0.0.1:99999", "--list", "base", "x"], 2,
            ["'99999' is not a port number (1 to 65535)"]),
        ["malformed address"] = ((_, _) => ["append", "--aggregator", "localhost", "--list", "base", "x"], 2,
            ["--aggregator 'localhost' is not HOST:PORT"]),
        ["missing input file"] = ((f, e) => ["append", "--aggregator", e, "--list", "base", "--file", Path.Combine(f.Directory, "absent.txt")], 2,
            ["absent.txt' does not exist"]),
        ["unreadable input file"] = ((f, e) => ["append", "--aggregator", e, "--list", "base", "--file", f.Directory], 2,
            ["cannot read input file"]),
        ["invalid UTF-8"] = ((f, e) => ["append", "--aggregator", e, "--list", "base", "--file",
            f.File("latin1.txt", [.. "fine\nalso fine\n"u8, 0x63, 0x61, 0x66, 0xE9, 0x0A, .. "after\n"u8])], 2,
            ["line 3 is not valid UTF-8 (at byte 4)", "nothing was sent"]),
        ["very long line"] = ((f, e) => ["append", "--aggregator", e, "--list", "base", "--file",
            f.File("long.txt", Encoding.UTF8.GetBytes("short\n" + new string('x', 70_000) + "\nshort again\n"))], 2,
            ["line 2 is 70000 bytes; the limit is 65536 bytes", "nothing was sent"]),
        ["stdin and --file"] = ((f, e) => ["append", "--aggregator", e, "--list", "base", "--file", f.File("given.txt", "g\n"u8.ToArray()), "-"], 2,
            ["give the input with --file or as - (stdin), not both"]),
        ["empty --file"] = ((_, e) => ["append", "--aggregator", e, "--list", "base", "--file", ""], 2,
            ["bad input: --file is empty: give the path of a file, or - for stdin"]),
        ["empty --config"] = ((_, e) => ["count", "--aggregator", e, "--list", "base", "--config", ""], 2,
            ["--config is empty: give the path of a HOCON file"]),
        ["over-size argument"] = ((_, e) => ["append", "--aggregator", e, "--list", "base", "ok", new string('y', 65_537)], 2,
            ["argument 2 is 65537 bytes; the limit is 65536 bytes", "nothing was sent"]),
        ["empty list name"] = ((_, e) => ["append", "--aggregator", e, "--list", "", "x"], 2, ["list name must not be empty"]),
        ["list name the journal cannot hold"] = ((_, e) => ["append", "--aggregator", e, "--list", "base/../x", "x"], 2,
            ["list name 'base/../x' has '/' at position 5"]),
        ["optional substitution in --config"] = ((b, e) => ["count", "--aggregator", e, "--list", "base", "--config",
                b.File("optional.hocon", "akka.loglevel = ${?NO_SUCH_VARIABLE}\n"u8.ToArray())], 2,
            ["optional.hocon:1: '${?NO_SUCH_VARIABLE}': optional substitutions are not supported"]),
        ["list name too long"] = ((_, e) => ["count", "--aggregator", e, "--list", new string('n', 129)], 2,
            ["list name is 129 characters long; the limit is 128"]),
    };

    private static readonly Dictionary<string, (string[] Args, int Exit, string Says)> AggregatorCases = new()
    {
        ["unknown option"] = (["serve", "--in-memory", "--frobnicate"], 2, "unknown option '--frobnicate' for 'serve'"),
        ["missing value"] = (["serve", "--in-memory", "--port"], 2, "Required argument missing for option: '--port'"),
        ["bad port"] = (["serve", "--in-memory", "--port", "65536"], 2, "--port '65536' is not a port number (0 to 65535)"),
        ["port not a number"] = (["serve", "--in-memory", "--port", "http"], 2, "--port 'http' is not a port number"),
        ["address not of this machine"] = (["serve", "--in-memory", "--port", "0", "--hostname", "192.0.2.1"], 1,
            "that address is not one of this machine's"),
        ["malformed address"] = (["serve", "--in-memory", "--port", "0", "--hostname", "not an address!"], 1, "cannot listen on not an address!"),
        ["missing config file"] = (["serve", "--in-memory", "--config", "/nonexistent/aggregator.hocon"], 2,
            "/nonexistent/aggregator.hocon: the file does not exist"),
    };

    public static TheoryData<string> WorkerCaseNames => new(WorkerCases.Keys);

    public static TheoryData<string> AggregatorCaseNames => new(AggregatorCases.Keys);

    [Theory]
    [MemberData(nameof(WorkerCaseNames))]
    public async Task Worker_should_refuse_bad_input_with_its_exit_code_and_message_and_change_nothing(string name)
    {
        var (args, exit, says) = WorkerCases[name];
        var log = baseline.Aggregator.Process.Stderr.Length;

        var run = await Executables.RunWorkerAsync(args(baseline, baseline.Aggregator.Endpoint));

        Assert.True(run.ExitCode == exit, $"{name}: exit {run.ExitCode}, stderr: {run.Stderr}");
        Assert.All(says, text => Assert.Contains(text, run.Stderr));
        Assert.DoesNotContain("   at ", run.Stderr);
        Assert.Empty(run.Stdout);
        await AssertBaselineUnchangedAsync();
        baseline.Aggregator.AssertNoErrorsOrWarnings(log); // refused by the worker: the aggregator saw nothing wrong
    }

    [Theory]
    [MemberData(nameof(AggregatorCaseNames))]
    public async Task Aggregator_should_refuse_bad_options_with_its_exit_code_and_message(string name)
    {
        var (args, exit, says) = AggregatorCases[name];
        await using var process = Executables.StartAggregator(args);

        var run = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(run.ExitCode == exit, $"{name}: exit {run.ExitCode}, stderr: {run.Stderr}");
        Assert.Contains(says, run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        Assert.Empty(run.Stdout);
    }

    /// <summary>
    /// Values in a --config file that the aggregator cannot use: each exits 2 naming the file,
    /// the line and the key. (The optional substitution made it spin a core and grow memory
    /// without end; the null level, fail with a bare "Object reference not set".)
    /// </summary>
    [Theory]
    [InlineData("akka.remote.dot-netty.tcp {\n  port = http\n}\n", ":2: akka.remote.dot-netty.tcp.port: 'http' is not a whole number")]
    [InlineData("actors.cluster {\n  port = ${?NO_SUCH_VARIABLE}\n}\n", ":2: '${?NO_SUCH_VARIABLE}': optional substitutions are not supported")]
    [InlineData("akka.loglevel = ${?NO_SUCH_VARIABLE}\n", ":1: '${?NO_SUCH_VARIABLE}': optional substitutions are not supported")]
    [InlineData("actors.aggregator.max-lists = 10\nactors.aggregator.max-lists = ${actors.aggregator.max-lists}\n", ":2: '${actors.aggregator.max-lists}' refers back to its own setting")]
    [InlineData("akka.loglevel = null\n", ":1: akka.loglevel: has no value here (null, a block or a list)")]
    [InlineData("akka.loglevel = verbose\n", ":1: akka.loglevel: 'verbose' is not DEBUG, INFO, WARNING, ERROR or OFF")]
    public async Task Aggregator_should_refuse_a_value_in_its_file_it_cannot_use_naming_the_file_line_and_key(string text, string says)
    {
        var path = baseline.File($"refused-{Guid.NewGuid():N}.hocon", System.Text.Encoding.UTF8.GetBytes(text));
        await using var process = Executables.StartAggregator("serve", "--in-memory", "--config", path);

        var run = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}, stderr: {run.Stderr}");
        Assert.Contains(path + says, run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        Assert.Empty(run.Stdout);
    }

    [Theory]
    [InlineData("localhost", "$ACTORS_AGGREGATOR 'localhost' is not HOST:PORT")]
    [InlineData("127.0.0.1:99999", "'99999' is not a port number (1 to 65535)")]
    [InlineData("127.0.0.1:1,,127.0.0.1:2", "has an empty entry")]
    public async Task Worker_should_refuse_a_malformed_ACTORS_AGGREGATOR_naming_it_and_change_nothing(string value, string says)
    {
        var log = baseline.Aggregator.Process.Stderr.Length;

        var run = await Executables.RunWorkerAsync(["append", "--list", "base", "x"],
            environment: new Dictionary<string, string> { ["ACTORS_AGGREGATOR"] = value });

        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}, stderr: {run.Stderr}");
        Assert.Contains(says, run.Stderr);
        Assert.Contains("set ACTORS_AGGREGATOR to HOST:PORT", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        Assert.Empty(run.Stdout);
        await AssertBaselineUnchangedAsync();
        baseline.Aggregator.AssertNoErrorsOrWarnings(log);
    }

    [Fact]
    public async Task A_second_aggregator_on_a_port_in_use_should_exit_1_and_leave_the_first_serving()
    {
        var endpoint = baseline.Aggregator.Endpoint;
        await using var second = Executables.StartAggregator("serve", "--in-memory", "--port", endpoint[(endpoint.LastIndexOf(':') + 1)..]);

        var run = await second.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"cannot listen on {endpoint}: the port is already in use", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        await AssertBaselineUnchangedAsync();
    }

    [Fact]
    public async Task A_file_that_is_a_pipe_should_be_read_once_and_appended_whole()
    {
        var log = baseline.Aggregator.Process.Stderr.Length;
        var run = await Executables.RunWorkerAsync(
            ["append", "--aggregator", baseline.Aggregator.Endpoint, "--list", "piped", "--file", "/dev/stdin"], stdin: "p-1\np-2\np-3\n");
        var get = await baseline.Aggregator.WorkerAsync("get", "--list", "piped");

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.StartsWith("appended 3 items", run.Stdout);
        Assert.Equal(["p-1", "p-2", "p-3"], get.Lines);
        baseline.Aggregator.AssertNoErrorsOrWarnings(log);
    }

    [Fact]
    public async Task An_empty_input_should_succeed_with_zero_items()
    {
        var empty = baseline.File("empty.txt", []);
        var log = baseline.Aggregator.Process.Stderr.Length;

        var file = await baseline.Aggregator.WorkerAsync("append", "--list", "base", "--file", empty);
        var stdin = await Executables.RunWorkerAsync(["append", "--aggregator", baseline.Aggregator.Endpoint, "--list", "base", "-"], stdin: "");

        Assert.Equal(0, file.ExitCode);
        Assert.StartsWith("appended 0 items to list 'base'", file.Stdout);
        Assert.Equal(0, stdin.ExitCode);
        Assert.StartsWith("appended 0 items to list 'base'", stdin.Stdout);
        await AssertBaselineUnchangedAsync();
        baseline.Aggregator.AssertNoErrorsOrWarnings(log);
    }

    [Fact]
    public async Task Bad_input_on_stdin_should_keep_the_items_before_it_and_say_how_many()
    {
        var run = await Executables.RunWorkerAsync(
            ["append", "--aggregator", baseline.Aggregator.Endpoint, "--list", "stdin-cut", "--id", "cut", "-"],
            stdin: "one\ntwo\n" + new string('z', 65_537) + "\nfour\n");
        var get = await baseline.Aggregator.WorkerAsync("get", "--list", "stdin-cut");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("line 3 is 65537 bytes; the limit is 65536 bytes", run.Stderr);
        Assert.Contains("the 2 items before it are acknowledged", run.Stderr);
        Assert.Equal(["one", "two"], get.Lines);
        await AssertBaselineUnchangedAsync();
    }

    /// <summary>
    /// An item given as an argument in Latin-1: .NET decodes the arguments with U+FFFD for what
    /// is not UTF-8, and the worker looks at the bytes as given (/proc/self/cmdline), refusing it
    /// as it refuses the same bytes in a file. A shell passes the byte: .NET would encode any
    /// string it is given.
    /// </summary>
    [Fact]
    public async Task Worker_should_refuse_an_argument_that_is_not_UTF_8_and_change_nothing()
    {
        var log = baseline.Aggregator.Process.Stderr.Length;
        await using var worker = RunningProcess.StartProgram("/bin/sh",
            ["-c", "exec dotnet \"$0\" append --aggregator \"$1\" --list base fine \"caf$(printf '\\351')\" after", Executables.Worker,
             baseline.Aggregator.Endpoint]);

        var run = await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}, stderr: {run.Stderr}");
        Assert.Contains("bad input: argument 2 is not valid UTF-8 (at byte 4); nothing was sent", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        Assert.Empty(run.Stdout);
        await AssertBaselineUnchangedAsync();
        baseline.Aggregator.AssertNoErrorsOrWarnings(log);
    }

    private async Task AssertBaselineUnchangedAsync()
    {
        var get = await baseline.Aggregator.WorkerAsync("get", "--list", "base");
        Assert.Equal(BaselineAggregator.Baseline, get.Lines);
    }
}
