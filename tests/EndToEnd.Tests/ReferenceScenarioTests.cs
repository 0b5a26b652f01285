using System.Text.Json;

namespace EndToEnd.Tests;

public sealed class ReferenceScenarioTests
{
    private static readonly string[] WorkerA = ["one", "two", "three", "four", "five"];
    private static readonly string[] WorkerB = ["six", "seven", "eight", "nine", "ten"];

    [Fact]
    public async Task Demo_should_print_the_ten_items_once_each_in_each_workers_order_and_nothing_else()
    {
        await using var demo = Executables.StartAggregator("demo");

        var result = await demo.WaitForExitAsync(TimeSpan.FromSeconds(90));

        Assert.Equal(0, result.ExitCode);
        var line = Assert.Single(result.Lines);
        var items = JsonSerializer.Deserialize<string[]>(line)!;
        AssertReferenceList(items);
    }

    [Fact]
    public async Task Serve_should_collect_two_workers_items_for_get()
    {
        await using var aggregator = await ServedAggregator.StartAsync();

        var runs = await Task.WhenAll(
            aggregator.WorkerAsync(["append", "--id", "A", .. WorkerA]),
            aggregator.WorkerAsync(["append", "--id", "B", .. WorkerB]));

        Assert.All(runs, r => Assert.Equal(0, r.ExitCode));
        Assert.Contains("appended 5 items to list 'default' as producer 'A': 5 new, 0 duplicates skipped", runs[0].Stdout);
        var get = await aggregator.WorkerAsync("get");
        Assert.Equal(0, get.ExitCode);
        AssertReferenceList(get.Lines);
        var json = await aggregator.WorkerAsync("get", "--json");
        AssertReferenceList(JsonSerializer.Deserialize<string[]>(json.Stdout)!);
        var count = await aggregator.WorkerAsync("count");
        Assert.Equal("10", count.Stdout.Trim());
        aggregator.AssertNoErrorsOrWarnings();
    }

    internal static void AssertReferenceList(IReadOnlyList<string> items)
    {
        Assert.Equal(10, items.Count);
        Assert.Equal(WorkerA.Concat(WorkerB).Order(), items.Order());
        Assert.Equal(WorkerA, items.Where(WorkerA.Contains));
        Assert.Equal(WorkerB, items.Where(WorkerB.Contains));
    }
}
