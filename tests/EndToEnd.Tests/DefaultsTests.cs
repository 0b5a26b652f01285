namespace EndToEnd.Tests;

/// <summary>
/// What both programs do with nothing said: their version, the aggregator's default port and
/// GC, and the worker's default aggregator ($ACTORS_AGGREGATOR, else 127.0.0.1:25520).
/// </summary>
public sealed class DefaultsTests
{
    private static readonly Dictionary<string, string> NoAggregatorVariable = new() { ["ACTORS_AGGREGATOR"] = "" };

    [Fact]
    public async Task Both_programs_should_print_the_one_product_version_and_exit_0()
    {
        await using var aggregator = Executables.StartAggregator("--version");
        var aggregatorRun = await aggregator.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var workerRun = await Executables.RunWorkerAsync(["--version"]);

        Assert.True(aggregatorRun.ExitCode == 0, aggregatorRun.Stderr);
        Assert.True(workerRun.ExitCode == 0, workerRun.Stderr);
        var version = Assert.Single(aggregatorRun.Lines);
        Assert.Matches(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$", version);
        Assert.Equal([version], workerRun.Lines);
        Assert.Equal(ProductVersion(), version);
    }

    [Fact]
    public async Task Serve_without_a_port_should_listen_on_25520_where_a_worker_without_an_address_finds_it()
    {
        await using var aggregator = Executables.StartAggregator("serve", "--in-memory");
        var ready = await aggregator.ReadLineAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("ready akka.tcp://aggregator@127.0.0.1:25520", ready);

        var append = await Executables.RunWorkerAsync(["append", "--list", "defaults", "--id", "d", "one", "two"],
            environment: NoAggregatorVariable);
        var count = await Executables.RunWorkerAsync(["count", "--list", "defaults"], environment: NoAggregatorVariable);

        Assert.True(append.ExitCode == 0, append.Stderr);
        Assert.True(count.ExitCode == 0, count.Stderr);
        Assert.Equal(["2"], count.Lines);
    }

    [Fact]
    public async Task A_worker_should_take_the_aggregator_from_ACTORS_AGGREGATOR_and_let_the_option_win()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        await aggregator.WorkerAsync("append", "--list", "env", "--id", "e", "a", "b", "c");

        var fromVariable = await Executables.RunWorkerAsync(["count", "--list", "env"],
            environment: new Dictionary<string, string> { ["ACTORS_AGGREGATOR"] = aggregator.Endpoint });
        var optionWins = await Executables.RunWorkerAsync(["count", "--list", "env", "--aggregator", aggregator.Endpoint],
            environment: new Dictionary<string, string> { ["ACTORS_AGGREGATOR"] = "127.0.0.1:1" });

        Assert.True(fromVariable.ExitCode == 0, fromVariable.Stderr);
        Assert.Equal(["3"], fromVariable.Lines);
        Assert.True(optionWins.ExitCode == 0, optionWins.Stderr);
        Assert.Equal(["3"], optionWins.Lines);
    }

    [Fact]
    public void The_aggregator_should_run_the_server_GC_with_a_small_young_generation_and_the_worker_the_workstation_GC()
    {
        // Their runtimeconfig.json, as the runtime reads it at start: the MSBuild property is
        // ServerGarbageCollection, and a misspelt one is silently ignored (it was, until
        // 2026-12-06); a misspelt runtime option likewise. The server GC and a tenth of its
        // young generation's budget keep the aggregator's memory per item small
        // (docs/operations.md, Memory).
        Assert.True(RuntimeSetting(Executables.Aggregator, "System.GC.Server").GetBoolean());
        Assert.Equal(10, RuntimeSetting(Executables.Aggregator, "System.GC.DGen0GrowthPercent").GetInt32());
        Assert.False(RuntimeSetting(Executables.Worker, "System.GC.Server").GetBoolean());
    }

    [Fact]
    public void The_worker_should_run_without_dynamic_PGO_and_the_aggregator_with_it()
    {
        // A worker's run is too short for profiling its hot methods to pay off (docs/benchmarks.md);
        // the aggregator is a service, and keeps the default.
        Assert.False(RuntimeSetting(Executables.Worker, "System.Runtime.TieredPGO").GetBoolean());
        Assert.True(RuntimeSetting(Executables.Aggregator, "System.Runtime.TieredPGO").GetBoolean());
    }

    [Fact]
    public void The_worker_should_run_without_code_generated_at_run_time()
    {
        // Akka's HOCON compiles its regular expressions at each start where it may
        // (docs/benchmarks.md); the worker has them interpreted. Nothing of the worker needs
        // code generated at run time: every end-to-end test runs it so.
        Assert.False(RuntimeSetting(Executables.Worker, "System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported").GetBoolean());
    }

    private static System.Text.Json.JsonElement RuntimeSetting(string dll, string name)
    {
        var path = Path.ChangeExtension(dll, ".runtimeconfig.json");
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        Assert.True(config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").TryGetProperty(name, out var value),
            $"{path} does not set {name}");
        return value.Clone();
    }

    /// <summary>The version Directory.Build.props sets, read from the file the build reads.</summary>
    private static string ProductVersion()
    {
        var props = File.ReadAllText(Path.Combine(Executables.RepositoryRoot, "Directory.Build.props"));
        var match = System.Text.RegularExpressions.Regex.Match(props, "<Version>([^<]+)</Version>");
        Assert.True(match.Success, "Directory.Build.props sets no <Version>");
        return match.Groups[1].Value;
    }
}
