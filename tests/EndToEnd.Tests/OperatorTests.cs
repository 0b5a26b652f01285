using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace EndToEnd.Tests;

/// <summary>
/// What an operator's tooling sees: Prometheus's own linter on a real scrape, readiness
/// that follows the journal's database while the aggregator is idle, and stats that show
/// every journaled list right after a restart.
/// </summary>
public sealed class OperatorTests : IDisposable
{
    private readonly ItemFiles _files = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// load-lists-at-start: an aggregator restarted after a SIGKILL loads every journaled list
    /// before any request names one, so <c>Worker stats</c> (the lists held) shows them all.
    /// </summary>
    [Fact]
    public async Task A_restarted_aggregator_should_load_every_journaled_list_before_any_request_names_it()
    {
        var data = Path.Combine(_files.Directory, "data");
        var port = Executables.FreePort();
        await using (var aggregator = await ServedAggregator.StartDurableAsync(data, port))
        {
            await aggregator.WorkerAsync("append", "--list", "alpha", "--id", "w", "a0", "a1");
            await aggregator.WorkerAsync("append", "--list", "beta", "--id", "w", "b0");
        }

        await using var restarted = await ServedAggregator.StartDurableAsync(data, port);
        await restarted.Process.WaitForStderrAsync("Loaded 2 lists from the journal", TimeSpan.FromSeconds(30));
        var stats = await restarted.WorkerAsync("stats");

        Assert.Matches(@"alpha\s+2\s+1\s", stats.Stdout);
        Assert.Matches(@"beta\s+1\s+1\s", stats.Stdout);
        restarted.AssertNoErrorsOrWarnings();
    }

    [PromtoolFact]
    public async Task A_scrape_should_pass_promtool_check_metrics()
    {
        var metricsPort = Executables.FreePort();
        await using var aggregator = await ServedAggregator.StartWithAsync(
            ["--data", Path.Combine(_files.Directory, "data"), "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture)]);
        await aggregator.WorkerAsync("append", "--list", "linted", "--id", "l", "one", "two");
        await aggregator.WorkerAsync("get", "--list", "linted");
        var scrape = await _http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        Assert.Contains("actors_aggregator_journal_write_duration_seconds_bucket", scrape);

        await using var promtool = RunningProcess.StartProgram("promtool", ["check", "metrics"], redirectStdin: true);
        await promtool.WriteStdinAndCloseAsync(scrape, TimeSpan.FromSeconds(30));
        var run = await promtool.WaitForExitAsync(TimeSpan.FromSeconds(30)); // killed, with its tree, on the way out if not

        Assert.True(run.ExitCode == 0, $"promtool check metrics exited {run.ExitCode}:\n{run.Stdout}{run.Stderr}");
    }

    [PostgresFact]
    public async Task Readiness_should_follow_the_journal_database_while_the_aggregator_is_idle()
    {
        // Not under the test's own directory: the server runs as the postgres user, who must reach it.
        var server = Path.Combine(Path.GetTempPath(), $"actors-pg-{Guid.NewGuid():N}");
        var connection = (await Script("start", server, Executables.FreePort().ToString(CultureInfo.InvariantCulture))).Trim();
        try
        {
            var metricsPort = Executables.FreePort();
            var config = PostgresFactAttribute.WriteConfig(_files.Directory, connection);
            await using var aggregator = await ServedAggregator.StartWithAsync(
                ["--config", config, "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture)]);
            var url = $"http://127.0.0.1:{metricsPort}/health";
            Assert.Equal(HttpStatusCode.OK, await StatusAsync($"{url}/ready"));

            await Script("halt", server);
            var unready = await WaitForAsync($"{url}/ready", HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(10));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync($"{url}/live"));

            await Script("resume", server);
            var ready = await WaitForAsync($"{url}/ready", HttpStatusCode.OK, TimeSpan.FromSeconds(15));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync($"{url}/live"));

            // The probe answers within its own time-out: unready was seen well inside the 10 s.
            Assert.True(unready < TimeSpan.FromSeconds(10), $"unready after {unready}");
            Assert.True(ready < TimeSpan.FromSeconds(15), $"ready again after {ready}");
            await aggregator.WorkerAsync("append", "--list", "after-restart", "--id", "r", "x");
        }
        finally
        {
            await Script("stop", server);
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _files.Dispose();
    }

    private async Task<HttpStatusCode> StatusAsync(string url)
    {
        using var response = await _http.GetAsync(url);
        return response.StatusCode;
    }

    /// <summary>Polls <paramref name="url"/> until it answers <paramref name="status"/>; how long that took (fails after <paramref name="limit"/>).</summary>
    private async Task<TimeSpan> WaitForAsync(string url, HttpStatusCode status, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var seen = await StatusAsync(url);
            if (seen == status)
            {
                return clock.Elapsed;
            }

            Assert.True(clock.Elapsed < limit, $"{url} still answers {seen} after {limit} (expected {status})");
            await Task.Delay(200);
        }
    }

    /// <summary>Runs .ci/postgres with <paramref name="args"/> and returns its stdout; fails on a non-zero exit.</summary>
    private static async Task<string> Script(params string[] args)
    {
        await using var script = RunningProcess.StartProgram("bash", [Path.Combine(Executables.RepositoryRoot, ".ci", "postgres"), .. args]);
        var run = await script.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(run.ExitCode == 0, $".ci/postgres {string.Join(' ', args)} exited {run.ExitCode}:\n{run.Stderr}");
        return run.Stdout;
    }
}

/// <summary>A fact that needs Prometheus's promtool: skipped, saying how to get it, when it is not on PATH.</summary>
public sealed class PromtoolFactAttribute : FactAttribute
{
    public PromtoolFactAttribute()
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Any(directory => directory.Length > 0 && File.Exists(Path.Combine(directory, "promtool")));
        if (!found)
        {
            Skip = "promtool is not installed: apt-get install prometheus (only its promtool is used; .ci/run installs it)";
        }
    }
}
