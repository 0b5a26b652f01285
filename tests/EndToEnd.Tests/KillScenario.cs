using System.Globalization;
using System.Text.Json;

namespace EndToEnd.Tests;

/// <summary>
/// The steps the journaled-aggregator tests share: workers appending while the aggregator is
/// SIGKILLed and started again, and reading the outcome back through the Worker executable.
/// </summary>
internal static class KillScenario
{
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(120);

    /// <summary>
    /// One append worker per (producer, file), all into <paramref name="list"/>; the aggregator
    /// is SIGKILLed as soon as the list's first item is stored and started again with
    /// <paramref name="restart"/>; then every worker is awaited. The caller disposes the
    /// restarted aggregator (and the first one, which this kills, if it fails before). On a
    /// failure every worker, the follower and the restarted aggregator are killed.
    /// </summary>
    public static async Task<(Completed[] Runs, ServedAggregator Restarted)> AppendAcrossAnAggregatorKillAsync(
        ServedAggregator aggregator, Func<Task<ServedAggregator>> restart, string list, (string Producer, string File)[] workers)
    {
        await using var follow = await FollowAsync(aggregator, list);
        var processes = new List<RunningProcess>();
        ServedAggregator? restarted = null;
        try
        {
            foreach (var (producer, file) in workers)
            {
                processes.Add(Executables.StartWorker("append", "--aggregator", aggregator.Endpoint,
                    "--list", list, "--id", producer, "--file", file, "--connect-timeout", "60", "--json"));
            }

            await follow.ReadLineAsync(Long);
            await aggregator.DisposeAsync();
            restarted = await restart();
            return (await Task.WhenAll(processes.Select(p => p.WaitForExitAsync(Long))), restarted);
        }
        catch
        {
            if (restarted is not null)
            {
                await restarted.DisposeAsync();
            }

            throw;
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }

    /// <summary>Each producer's items (<see cref="ItemFiles.Items"/>) are in the list once each, in order, and nothing else.</summary>
    public static void AssertEachProducerOnceInOrder(string[] items, string[] prefixes, int perProducer)
    {
        Assert.Equal(prefixes.Length * perProducer, items.Length);
        foreach (var prefix in prefixes)
        {
            Assert.Equal(ItemFiles.Items(prefix, perProducer), items.Where(i => i.StartsWith(prefix + "-", StringComparison.Ordinal)));
        }
    }

    /// <summary>
    /// A follower from item 0, started: it has found the aggregator and says it follows (its
    /// first request may still be on its way). Killed again if it does not say so.
    /// </summary>
    public static async Task<RunningProcess> FollowAsync(ServedAggregator aggregator, string list)
    {
        var follow = Executables.StartWorker("follow", "--aggregator", aggregator.Endpoint, "--list", list, "--from", "0");
        try
        {
            await follow.WaitForStderrAsync($"following list '{list}'", Long);
            return follow;
        }
        catch
        {
            await follow.DisposeAsync();
            throw;
        }
    }

    public static async Task<string[]> ReadAllAsync(ServedAggregator aggregator, string list)
    {
        var get = await aggregator.WorkerAsync("get", "--list", list);
        Assert.True(get.ExitCode == 0, get.Stderr);
        return get.Lines;
    }

    public static long Count(Completed count)
    {
        Assert.True(count.ExitCode == 0, count.Stderr);
        return long.Parse(count.Stdout.Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>A count of <c>append --json</c>'s summary.</summary>
    public static long Summary(Completed append, string field) => SummaryField(append, field).GetInt64();

    /// <summary>A figure in seconds of <c>append --json</c>'s summary.</summary>
    public static TimeSpan SummarySeconds(Completed append, string field) => TimeSpan.FromSeconds(SummaryField(append, field).GetDouble());

    private static JsonElement SummaryField(Completed append, string field)
    {
        Assert.True(append.ExitCode == 0, append.Stderr);
        using var summary = JsonDocument.Parse(append.Stdout);
        return summary.RootElement.GetProperty(field).Clone();
    }
}
