namespace EndToEnd.Tests;

/// <summary>
/// Two runs of one producer id at once, with different items: the run that hears of offsets
/// it never sent stops with exit 1 and a message naming the id and the list, instead of
/// waiting for acknowledgements the list answers as duplicates.
/// </summary>
public sealed class ProducerConflictTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_worker_should_exit_1_naming_the_conflict_when_another_run_of_its_id_appends_past_it()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        await using var first = RunningProcess.Start(Executables.Worker,
            ["append", "--aggregator", aggregator.Endpoint, "--list", "shared", "--id", "twice", "-"], redirectStdin: true);
        await first.WriteStdinAsync("a0\na1\na2\n");
        await aggregator.WaitForCountAsync("shared", atLeast: 3, Long);

        // A second run of the id resumes after a2: it skips b0-b2 and appends b3-b9 at offsets 3-9.
        var second = await aggregator.WorkerAsync("append", "--list", "shared", "--id", "twice", "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9");
        Assert.Contains("7 new", second.Stdout + second.Stderr);

        // The first run's next items are offsets 3 and 4, which the list has passed.
        await first.WriteStdinAndCloseAsync("a3\na4\n");
        var run = await first.WaitForExitAsync(Long);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("another producer with id 'twice' is appending to list 'shared': the aggregator is at offset 10, past offset 5, the end of what this producer sent", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        var get = await aggregator.WorkerAsync("get", "--list", "shared");
        Assert.Equal(["a0", "a1", "a2", "b3", "b4", "b5", "b6", "b7", "b8", "b9"], get.Lines);
    }
}
