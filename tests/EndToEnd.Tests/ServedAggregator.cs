namespace EndToEnd.Tests;

/// <summary>An aggregator started with serve on a free port, stopped (SIGKILL) on dispose.</summary>
internal sealed class ServedAggregator : IAsyncDisposable
{
    private ServedAggregator(RunningProcess process, string address, string endpoint)
    {
        Process = process;
        Address = address;
        Endpoint = endpoint;
    }

    public RunningProcess Process { get; }

    /// <summary>akka.tcp://aggregator@127.0.0.1:PORT, as the ready line said.</summary>
    public string Address { get; }

    /// <summary>HOST:PORT for --aggregator.</summary>
    public string Endpoint { get; }

    /// <summary>An aggregator that keeps its lists in memory.</summary>
    public static Task<ServedAggregator> StartAsync(int port = 0, params string[] extra) =>
        StartWithAsync(["--in-memory", .. extra], port);

    /// <summary>An aggregator that journals its lists in the SQLite database in <paramref name="dataDirectory"/>.</summary>
    public static Task<ServedAggregator> StartDurableAsync(string dataDirectory, int port = 0) =>
        StartWithAsync(["--data", dataDirectory], port);

    /// <summary>
    /// An aggregator started with <paramref name="options"/> after <c>serve --port PORT</c>;
    /// killed again if it does not say it is ready.
    /// </summary>
    /// <param name="via">a command line that runs <c>dotnet</c> (<c>ip netns exec NAME dotnet</c>), if not directly.</param>
    public static async Task<ServedAggregator> StartWithAsync(string[] options, int port = 0, string[]? via = null)
    {
        string[] args = ["serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. options];
        var process = via is null
            ? Executables.StartAggregator(args)
            : RunningProcess.StartProgram(via[0], [.. via[1..], Executables.Aggregator, .. args]);
        try
        {
            var ready = await process.ReadLineAsync(TimeSpan.FromSeconds(30));
            Assert.Matches(@"^ready akka(\.ssl)?\.tcp://aggregator@", ready);
            var address = ready["ready ".Length..];
            return new ServedAggregator(process, address, address[(address.IndexOf('@') + 1)..]);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a worker command (<c>args[0]</c>) against this aggregator and asserts that it exits 0.</summary>
    public async Task<Completed> WorkerAsync(params string[] args)
    {
        var run = await UncheckedWorkerAsync(args);
        Assert.True(run.ExitCode == 0,
            $"worker {string.Join(' ', args.Select(a => a.Length > 60 ? a[..60] + "…" : a))} exited {run.ExitCode}; stderr:\n{run.Stderr}");
        return run;
    }

    /// <summary>Polls count until <paramref name="list"/> holds at least <paramref name="atLeast"/> items, for at most <paramref name="timeout"/>.</summary>
    public async Task WaitForCountAsync(string list, long atLeast, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (KillScenario.Count(await WorkerAsync("count", "--list", list)) < atLeast)
        {
            Assert.True(clock.Elapsed < timeout, $"list '{list}' did not reach {atLeast} items within {timeout}");
        }
    }

    /// <summary>Runs a worker command against this aggregator whatever its end: the caller asserts the exit code.</summary>
    public Task<Completed> UncheckedWorkerAsync(params string[] args) =>
        Executables.RunWorkerAsync([args[0], "--aggregator", Endpoint, .. args[1..]]);

    /// <summary>
    /// Fails listing the aggregator's log lines at ERROR or WARNING level
    /// (<c>[LEVEL][time][source] message</c>) on stderr so far, from character
    /// <paramref name="from"/> of it on (a shared aggregator: its length when the test began).
    /// For runs where nothing should go wrong; Akka logs asynchronously, so a line about the
    /// very last moments may not be there yet.
    /// </summary>
    public void AssertNoErrorsOrWarnings(int from = 0)
    {
        var trouble = Process.Stderr[from..].Split('\n')
            .Where(l => l.StartsWith("[ERROR]", StringComparison.Ordinal) || l.StartsWith("[WARNING]", StringComparison.Ordinal))
            .ToArray();
        Assert.True(trouble.Length == 0, $"the aggregator logged {trouble.Length} errors or warnings:\n{string.Join('\n', trouble)}");
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
