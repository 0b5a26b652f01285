using Actors.Client;

namespace EndToEnd.Tests;

/// <summary>
/// Two runs of one producer id at once, with different items: the run that hears of offsets
/// it never sent, or that sends the same offsets as the run holding the id, stops (the Worker
/// with exit 1) with a message naming the id and the list, instead of waiting for
/// acknowledgements or taking the other run's items for its own.
/// </summary>
public sealed class ProducerConflictTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_worker_should_exit_1_naming_the_conflict_when_another_run_of_its_id_took_it_over()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        await using var first = RunningProcess.Start(Executables.Worker,
            ["append", "--aggregator", aggregator.Endpoint, "--list", "shared", "--id", "twice", "-"], redirectStdin: true);
        await first.WriteStdinAsync("a0\na1\na2\n");
        await aggregator.WaitForCountAsync("shared", atLeast: 3, Long);

        // A second run of the id resumes after a2: it skips b0-b2 and appends b3-b9 at offsets 3-9.
        var second = await aggregator.WorkerAsync("append", "--list", "shared", "--id", "twice", "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9");
        Assert.Contains("7 new", second.Stdout + second.Stderr);

        // The first run's next items are offsets 3 and 4: the second run holds the id now.
        await first.WriteStdinAndCloseAsync("a3\na4\n");
        var run = await first.WaitForExitAsync(Long);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("another run of producer 'twice' is appending to list 'shared' (it started or appended after this one); use one id for one producer at a time (3 items of this one acknowledged)", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        var get = await aggregator.WorkerAsync("get", "--list", "shared");
        Assert.Equal(["a0", "a1", "a2", "b3", "b4", "b5", "b6", "b7", "b8", "b9"], get.Lines);
    }

    [Fact]
    public async Task A_producer_in_lockstep_with_another_run_of_its_id_should_fail_instead_of_being_answered_duplicates()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        using var bound = new CancellationTokenSource(Long);
        await using var client = await AggregatorClient.ConnectAsync(new AggregatorClientOptions { Contacts = aggregator.Endpoint }, bound.Token);
        await using var first = client.List("lockstep").CreateProducer("twice");
        await using var second = client.List("lockstep").CreateProducer("twice");
        Assert.Equal((0ul, 0ul), (await first.StartAsync(bound.Token), await second.StartAsync(bound.Token)));

        await first.AddAsync("a0", bound.Token);
        await first.AddAsync("a1", bound.Token);
        Assert.Equal(2ul, (await first.FlushAsync(bound.Token)).Acknowledged);
        await second.AddAsync("b0", bound.Token);
        await second.AddAsync("b1", bound.Token);
        var conflict = await Assert.ThrowsAsync<ProducerConflictException>(() => second.FlushAsync(bound.Token));

        Assert.Equal("another run of producer 'twice' is appending to list 'lockstep' (it started or appended after this one); use one id for one producer at a time (0 items of this one acknowledged)",
            conflict.Message);
        Assert.Equal(["a0", "a1"], await client.List("lockstep").ReadAsync(cancellationToken: bound.Token).ToListAsync(bound.Token));
    }
}
