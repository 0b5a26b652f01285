using System.Text.Json;

namespace EndToEnd.Tests;

public sealed class AppendTests : IDisposable
{
    private readonly ItemFiles _files = new();

    [Fact]
    public async Task Worker_rerun_with_the_same_id_and_input_should_add_nothing()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        var file = WriteItems("rerun.txt", "r", 20_000);

        var first = await aggregator.WorkerAsync("append", "--id", "rerun", "--file", file, "--json");
        var second = await aggregator.WorkerAsync("append", "--id", "rerun", "--file", file, "--json");

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(0, second.ExitCode);
        using (var firstSummary = JsonDocument.Parse(first.Stdout))
        {
            Assert.Equal(20_000, firstSummary.RootElement.GetProperty("appended").GetInt64());
        }

        using var summary = JsonDocument.Parse(second.Stdout);
        Assert.Equal(20_000, summary.RootElement.GetProperty("items").GetInt64());
        Assert.Equal(0, summary.RootElement.GetProperty("appended").GetInt64());
        Assert.Equal(0, summary.RootElement.GetProperty("duplicates").GetInt64());
        Assert.Equal(20_000, summary.RootElement.GetProperty("alreadyStored").GetInt64());
        Assert.Equal("20000", (await aggregator.WorkerAsync("count")).Stdout.Trim());
        aggregator.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Four_workers_of_50000_items_should_all_land_in_order()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        var files = Enumerable.Range(0, 4).Select(w => WriteItems($"w{w}.txt", $"w{w}", 50_000)).ToArray();

        var runs = await Task.WhenAll(files.Select((file, w) =>
            aggregator.WorkerAsync("append", "--id", $"w{w}", "--list", "many", "--file", file)));

        Assert.All(runs, r => Assert.Equal(0, r.ExitCode));
        Assert.Equal("200000", (await aggregator.WorkerAsync("count", "--list", "many")).Stdout.Trim());
        var items = (await aggregator.WorkerAsync("get", "--list", "many")).Lines;
        Assert.Equal(200_000, items.Length);
        for (var w = 0; w < 4; w++)
        {
            var prefix = $"w{w}-";
            Assert.Equal(Items($"w{w}", 50_000), items.Where(i => i.StartsWith(prefix, StringComparison.Ordinal)));
        }

        aggregator.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Worker_should_read_items_from_stdin_an_empty_line_being_an_empty_item()
    {
        await using var aggregator = await ServedAggregator.StartAsync();

        var run = await Executables.RunWorkerAsync(["append", "--aggregator", aggregator.Endpoint, "--id", "s", "-"], "x\n\ny\r\n\r\nz");
        var tail = await Executables.RunWorkerAsync(["append", "--aggregator", aggregator.Endpoint, "--id", "t", "-"], "last\n\n");

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.True(tail.ExitCode == 0, tail.Stderr);
        Assert.Equal(["x", "", "y", "", "z", "last", ""], (await aggregator.WorkerAsync("get")).Lines);
        aggregator.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Follow_should_print_items_appended_after_it_started()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        await aggregator.WorkerAsync("append", "--list", "live", "--id", "before", "old");
        await using var follow = Executables.StartWorker("follow", "--aggregator", aggregator.Endpoint, "--list", "live");
        await follow.WaitForStderrAsync("following list 'live' from item 1", TimeSpan.FromSeconds(30));

        var append = await aggregator.WorkerAsync("append", "--list", "live", "--id", "after", "new-1", "new-2");

        Assert.Equal(0, append.ExitCode);
        Assert.Equal("new-1", await follow.ReadLineAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("new-2", await follow.ReadLineAsync(TimeSpan.FromSeconds(30)));
        follow.Signal(15);
        var end = await follow.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, end.ExitCode);
        Assert.DoesNotContain("old", end.Stdout);
        aggregator.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Delete_should_empty_a_list_and_let_its_name_start_again()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        await aggregator.WorkerAsync("append", "--list", "tmp", "--id", "p", "a", "b");

        var delete = await aggregator.WorkerAsync("delete", "--list", "tmp");
        var again = await aggregator.WorkerAsync("append", "--list", "tmp", "--id", "p", "c");

        Assert.Equal("deleted list 'tmp'", delete.Stdout.Trim());
        Assert.Equal(0, again.ExitCode);
        Assert.Equal(["c"], (await aggregator.WorkerAsync("get", "--list", "tmp")).Lines);
        aggregator.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Worker_should_wait_for_an_aggregator_that_starts_later()
    {
        var port = Executables.FreePort();
        await using var worker = Executables.StartWorker("append", "--aggregator", $"127.0.0.1:{port}", "--id", "early", "--connect-timeout", "60", "a", "b");

        // The aggregator starts only once the worker has found nobody there and says it waits.
        await worker.WaitForStderrAsync("does not answer yet", TimeSpan.FromSeconds(30));
        await using var aggregator = await ServedAggregator.StartAsync(port);
        var run = await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.StartsWith("appended 2 items to list 'default' as producer 'early': 2 new, 0 duplicates skipped", run.Stdout);
        Assert.Equal(["a", "b"], (await aggregator.WorkerAsync("get")).Lines);
        aggregator.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Worker_killed_mid_stream_and_rerun_should_leave_every_item_exactly_once_in_order()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        const int total = 3_000_000;
        var file = WriteItems("big.txt", "k", total);
        await using var follow = Executables.StartWorker("follow", "--aggregator", aggregator.Endpoint, "--list", "kill", "--from", "0");
        await follow.WaitForStderrAsync("following list 'kill'", TimeSpan.FromSeconds(30));
        // The victim gets the first third through stdin, which stays open: it cannot finish
        // before it is killed, however fast the aggregator is.
        await using (var victim = RunningProcess.Start(Executables.Worker,
            ["append", "--aggregator", aggregator.Endpoint, "--list", "kill", "--id", "k", "-"], redirectStdin: true))
        {
            await victim.WriteStdinAsync(string.Concat(Items("k", total / 3).Select(i => i + "\n")), TimeSpan.FromSeconds(60));
            await follow.ReadLineAsync(TimeSpan.FromSeconds(60));
            victim.Kill();
        }

        var before = long.Parse((await aggregator.WorkerAsync("count", "--list", "kill")).Stdout.Trim());
        var rerun = await aggregator.WorkerAsync("append", "--list", "kill", "--id", "k", "--file", file, "--json");

        Assert.True(before is > 0 and <= total / 3, $"killed after {before} items, of the {total / 3} it was given");
        Assert.Equal(0, rerun.ExitCode);
        var items = (await aggregator.WorkerAsync("get", "--list", "kill")).Lines;
        Assert.Equal(Items("k", total), items);
    }

    public void Dispose() => _files.Dispose();

    private static IEnumerable<string> Items(string prefix, int count) => ItemFiles.Items(prefix, count);

    private string WriteItems(string name, string prefix, int count) => _files.Write(name, prefix, count);
}
