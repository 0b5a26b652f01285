namespace EndToEnd.Tests;

public sealed class ErrorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("e2e-errors").FullName;

    [Fact]
    public async Task Worker_should_exit_3_naming_the_address_when_no_aggregator_answers_in_time()
    {
        var port = Executables.FreePort();

        var run = await Executables.RunWorkerAsync(["append", "--aggregator", $"127.0.0.1:{port}", "--connect-timeout", "2", "x"]);

        Assert.Equal(3, run.ExitCode);
        Assert.Contains($"127.0.0.1:{port} did not answer within 2 s", run.Stderr);
        Assert.InRange(run.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));
        Assert.DoesNotContain("   at ", run.Stderr);
        Assert.Single(run.Stderr.Split('\n'), l => l.Contains("does not answer yet; trying again for up to 2 s in all", StringComparison.Ordinal));
        Assert.DoesNotContain("Tried to associate", run.Stderr);
    }

    [Fact]
    public async Task Aggregator_should_exit_2_naming_the_file_and_line_of_malformed_hocon()
    {
        var path = Path.Combine(_directory, "broken.hocon");
        await File.WriteAllTextAsync(path, "actors.aggregator {\n  max-lists = 10\n  this line is wrong\n}\n");
        await using var aggregator = Executables.StartAggregator("serve", "--config", path);

        var run = await aggregator.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"{path}:3:", run.Stderr);
        Assert.Empty(run.Stdout);
    }

    [Fact]
    public async Task Worker_should_exit_2_naming_the_file_of_malformed_hocon()
    {
        var path = Path.Combine(_directory, "worker.hocon");
        await File.WriteAllTextAsync(path, "actors.worker {\n  max-in-flight = [\n}\n");

        var run = await Executables.RunWorkerAsync(["count", "--aggregator", "127.0.0.1:1", "--config", path]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"{path}:3:", run.Stderr);
    }

    [Fact]
    public async Task Worker_should_exit_2_with_usage_for_an_unknown_option()
    {
        var run = await Executables.RunWorkerAsync(["append", "--aggregator", "127.0.0.1:1", "--frobnicate"]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("unknown option '--frobnicate'", run.Stderr);
        Assert.Contains("Usage:", run.Stderr);
    }

    [Fact]
    public async Task Worker_should_exit_2_when_the_input_file_does_not_exist()
    {
        var missing = Path.Combine(_directory, "absent.txt");

        var run = await Executables.RunWorkerAsync(["append", "--aggregator", "127.0.0.1:1", "--file", missing]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"'{missing}' does not exist", run.Stderr);
    }

    [Fact]
    public async Task Aggregator_should_exit_1_when_its_port_is_taken()
    {
        await using var first = await ServedAggregator.StartAsync();
        var port = first.Endpoint[(first.Endpoint.LastIndexOf(':') + 1)..];
        await using var second = Executables.StartAggregator("serve", "--in-memory", "--port", port);

        var run = await second.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"cannot listen on 127.0.0.1:{port}: the port is already in use", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        first.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Aggregator_should_stop_cleanly_on_sigterm()
    {
        await using var aggregator = await ServedAggregator.StartAsync();

        aggregator.Process.Signal(15);

        var run = await aggregator.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, run.ExitCode);
        aggregator.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Aggregator_should_warn_when_it_listens_beyond_loopback_without_TLS()
    {
        await using var open = await ServedAggregator.StartWithAsync(["--in-memory", "--hostname", "0.0.0.0", "--public-hostname", "127.0.0.1"]);
        await using var local = await ServedAggregator.StartAsync();

        await open.Process.WaitForStderrAsync("Listening on 0.0.0.0 without TLS: anyone who can reach port", TimeSpan.FromSeconds(30));
        await open.WorkerAsync("append", "--id", "p", "x");

        // Its whole log: stopped, it has written every line (a warning is logged after
        // "Aggregator VERSION listening on", so seeing that line proves nothing about the warning).
        local.Process.Signal(15);
        var stopped = await local.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, stopped.ExitCode);
        Assert.Matches(@"Aggregator \d+\.\d+\.\d+\S* listening on akka\.tcp://aggregator@127\.0\.0\.1:\d+; lists in memory", stopped.Stderr);
        Assert.DoesNotContain("without TLS", stopped.Stderr);
        local.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task A_worker_using_another_name_than_the_public_hostname_should_be_dropped_and_the_aggregator_should_say_why()
    {
        await using var aggregator = await ServedAggregator.StartAsync(0, "--public-hostname", "localhost");
        var port = aggregator.Endpoint[(aggregator.Endpoint.LastIndexOf(':') + 1)..];

        var mismatch = await Executables.RunWorkerAsync(["count", "--aggregator", $"127.0.0.1:{port}", "--connect-timeout", "2"]);
        var matching = await Executables.RunWorkerAsync(["count", "--aggregator", $"localhost:{port}"]);

        Assert.StartsWith("akka.tcp://aggregator@localhost:", aggregator.Address);
        Assert.Equal(3, mismatch.ExitCode);
        Assert.InRange(mismatch.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));
        Assert.Contains($"for non-local recipient [[akka.tcp://aggregator@127.0.0.1:{port}/]]", aggregator.Process.Stderr);
        Assert.Contains($"inbound addresses [akka.tcp://aggregator@localhost:{port}]", aggregator.Process.Stderr);
        Assert.Equal(0, matching.ExitCode);
        Assert.Equal(["0"], matching.Lines);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
