using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using static EndToEnd.Tests.KillScenario;

namespace EndToEnd.Tests;

/// <summary>
/// Metrics and health as an operator scrapes them: Prometheus text at /metrics while
/// workers append, counts checked against what was sent, /health/live and /health/ready;
/// and <c>Worker stats</c>.
/// </summary>
public sealed class MetricsTests : IDisposable
{
    private readonly ItemFiles _files = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Metrics_and_health_should_count_what_workers_sent_while_they_append()
    {
        const int perWorker = 300_000;
        var metricsPort = Executables.FreePort();
        var config = Path.Combine(_files.Directory, "one-producer.hocon");
        await File.WriteAllTextAsync(config, "actors.aggregator.max-producers-per-list = 2\n");
        await using var aggregator = await ServedAggregator.StartWithAsync(
            ["--data", Path.Combine(_files.Directory, "data"), "--config", config, "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture)]);
        var url = $"http://127.0.0.1:{metricsPort}";
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync($"{url}/health/live"));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync($"{url}/health/ready"));

        Assert.Equal(0, Value((await GetAsync($"{url}/metrics")).Body, "actors_aggregator_items_appended_total"));

        // Each worker reads its items from stdin: the first half, then (once a scrape has seen
        // the appends under way, not finished) the second half.
        var producers = new[] { "ma", "mb" };
        var processes = producers.Select(p => RunningProcess.Start(Executables.Worker,
            ["append", "--aggregator", aggregator.Endpoint, "--list", "measured", "--id", p, "--json", "-"], redirectStdin: true)).ToArray();
        var lines = producers.Select(p => ItemFiles.Items(p, perWorker).Select(i => i + "\n").ToArray()).ToArray();
        Completed[] runs;
        try
        {
            await Task.WhenAll(processes.Zip(lines).Select(w => w.First.WriteStdinAsync(string.Concat(w.Second[..(perWorker / 2)]))));
            var during = 0L;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (during < perWorker / 2)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the first halves were not appended within 60 s (the scrape says {during})");
                var (status, text) = await GetAsync($"{url}/metrics");
                Assert.Equal(HttpStatusCode.OK, status);
                during = Value(text, "actors_aggregator_items_appended_total");
                await Task.Delay(20);
            }

            Assert.InRange(during, perWorker / 2, perWorker); // under way: at most the two first halves
            await Task.WhenAll(processes.Zip(lines).Select(w => w.First.WriteStdinAndCloseAsync(string.Concat(w.Second[(perWorker / 2)..]))));
            runs = await Task.WhenAll(processes.Select(w => w.WaitForExitAsync(TimeSpan.FromSeconds(60))));
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }

        Assert.All(runs, r => Assert.True(r.ExitCode == 0, r.Stderr));
        Assert.All(runs, r => Assert.Equal(perWorker, Summary(r, "appended")));
        var third = await aggregator.UncheckedWorkerAsync("append", "--list", "measured", "--id", "mc", "one-too-many");
        Assert.True(third.ExitCode == 1, third.Stderr);

        var (_, metrics) = await GetAsync($"{url}/metrics");
        Assert.Equal(2 * perWorker, Value(metrics, "actors_aggregator_items_appended_total"));
        Assert.Equal(1, Value(metrics, "actors_aggregator_refusals_total", "reason=\"TOO_MANY_PRODUCERS\""));
        Assert.Equal(1, Value(metrics, "actors_aggregator_lists"));
        Assert.True(Value(metrics, "actors_aggregator_batches_appended_total") >= 2 * perWorker / 16_384);
        Assert.True(Value(metrics, "actors_aggregator_journal_write_duration_seconds_count") > 0);
        Assert.True(Value(metrics, "dotnet_gc_heap_total_allocated_bytes_total") > 0, "no runtime metrics");
        Assert.True(Value(metrics, "dotnet_process_memory_working_set_bytes") > 0, "no process metrics");

        var stats = await aggregator.WorkerAsync("stats", "--json");
        Assert.True(stats.ExitCode == 0, stats.Stderr);
        var report = JsonDocument.Parse(stats.Stdout).RootElement;
        var version = report.GetProperty("version").GetString();
        Assert.Matches(@"^\d+\.\d+\.\d+", version);
        Assert.Equal(aggregator.Address, report.GetProperty("node").GetString());
        Assert.Empty(report.GetProperty("unanswered").EnumerateArray());
        Assert.Empty(report.GetProperty("silentNodes").EnumerateArray());
        var row = Assert.Single(report.GetProperty("lists").EnumerateArray());
        Assert.Equal(("measured", 2 * perWorker, 2, aggregator.Address, version),
            (row.GetProperty("list").GetString(), row.GetProperty("length").GetInt64(), row.GetProperty("producers").GetInt32(),
                row.GetProperty("node").GetString(), row.GetProperty("version").GetString()));
        var table = await aggregator.WorkerAsync("stats");
        Assert.StartsWith($"aggregator {aggregator.Address}, version {version}\n", table.Stdout);
        Assert.Matches($@"measured\s+{2 * perWorker}\s+2\s+0\s+{Regex.Escape(aggregator.Address)}", table.Stdout);
    }

    [Fact]
    public async Task Metrics_should_be_off_by_default_and_a_metrics_port_in_use_should_stop_the_aggregator()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        Assert.DoesNotContain("Metrics at", aggregator.Process.Stderr);

        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        await using var second = Executables.StartAggregator("serve", "--in-memory", "--port", "0", "--metrics-port", port);
        var run = await second.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"cannot serve metrics on http://127.0.0.1:{port}", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        Assert.Empty(run.Stdout);
    }

    public void Dispose()
    {
        _http.Dispose();
        _files.Dispose();
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string url)
    {
        using var response = await _http.GetAsync(url);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The value of a Prometheus sample named <paramref name="name"/> (with <paramref name="label"/> among its labels); 0 if absent.</summary>
    private static long Value(string metrics, string name, string label = "")
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains(label, StringComparison.Ordinal))
            {
                return (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
