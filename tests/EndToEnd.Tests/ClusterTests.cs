using System.Text.RegularExpressions;
using Xunit.Abstractions;
using static EndToEnd.Tests.KillScenario;

namespace EndToEnd.Tests;

/// <summary>
/// Cluster mode with real processes: three aggregator nodes sharing the PostgreSQL journal,
/// eight workers appending 200,000 items each to six lists (three of them to one list) while
/// a node is SIGKILLed (the node of a list, then, after it rejoins, the oldest node, which
/// holds the shard coordinator), leaves with SIGTERM, or is cut off by a network partition
/// (nodes in network namespaces of the test's own). Every item ends up in its list exactly
/// once, in its producer's order; each test prints how long appends to the lost node's lists
/// paused.
/// </summary>
public sealed partial class ClusterTests(ITestOutputHelper output) : IDisposable
{
    private const int PerWorker = 200_000;

    /// <summary>
    /// The longest a SIGKILLed node's lists may take to resume elsewhere in these tests: the
    /// shipped settings fail over in about 10 s (docs/operations.md); the rest is room for CI's
    /// load. Akka's defaults (about 50 s) fail it.
    /// </summary>
    private static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(25);
    private const int Half = PerWorker / 2;
    private readonly ItemFiles _files = new();

    [PostgresFact]
    public async Task Workers_should_finish_across_a_SIGKILL_of_their_lists_node_and_of_the_oldest_node_after_it_rejoins()
    {
        await using var cluster = await TestCluster.StartAsync(Config(), output);

        // The node of a list that is not the oldest: the plain failover.
        var first = await AppendAcrossAsync(cluster, "k", async lists =>
        {
            var oldest = cluster.Oldest();
            var victim = lists.Values.First(node => node != oldest);
            await cluster.KillAsync(victim);
            return victim;
        });

        // It rejoins on the same address, and a new cluster does not form around it.
        var restarted = await cluster.RestartAsync(first.Victim);
        await restarted.Process.WaitForStderrAsync("(3 members up)", Long);

        // Then the oldest node, holding the shard coordinator and lists of its own.
        await AppendAcrossAsync(cluster, "o", async _ =>
        {
            var victim = cluster.Oldest();
            await cluster.KillAsync(victim);
            return victim;
        }, mustHoldListsOn: cluster.Oldest);
    }

    [PostgresFact]
    public async Task A_node_that_leaves_with_SIGTERM_should_hand_its_lists_over_and_exit_0()
    {
        await using var cluster = await TestCluster.StartAsync(Config(), output);

        var left = await AppendAcrossAsync(cluster, "t", lists =>
        {
            var victim = lists.Values.First();
            cluster.Signal(victim, 15);
            return Task.FromResult(victim);
        }, mustPause: false, midStream: true);
        var run = await cluster.ExitOfAsync(left.Victim, Long);
        Assert.True(run.ExitCode == 0, $"the node exited {run.ExitCode}: {run.Stderr}");
        Assert.Contains("leaves this node", run.Stderr);
        Assert.Contains("This node shuts down: requests that reach it go to", run.Stderr); // the gateway's redirect, sent by CoordinatedShutdown

        // A graceful hand-over is not a failure detection: far below the SIGKILL case. The
        // pause is what each worker of a moved list reports as its longest wait for an
        // acknowledgement (the signal comes mid-stream). The aim is 2 s; measured under this
        // full load on 2 cores in docs/operations.md. Bounded at 5 s here, for CI's load.
        Assert.All(left.Waits, wait => Assert.True(wait <= TimeSpan.FromSeconds(5), $"appends paused {wait.TotalSeconds:0.00} s"));
    }

    /// <summary>
    /// A node frozen for 20 s (SIGSTOP: a long GC or VM pause) while workers append through the
    /// other nodes to lists it holds: the majority downs it and the lists resume elsewhere,
    /// taking the lists' next epochs in the journal. When it wakes (SIGCONT), with batches still
    /// in its mailboxes, the journal refuses whatever it tries to write for them, and it learns
    /// it was removed and stops. A quiet list of its own (three items, nothing in flight when it
    /// froze), appended to elsewhere during the pause, is counted on the frozen node alone: the
    /// count reaches it as it wakes and is never answered from its old copy (3), only with the
    /// journal's 5 (the list loaded again) or refused. Then the whole cluster is stopped and
    /// started again: every acknowledged item is there once, in order, and no list is broken.
    /// </summary>
    [PostgresFact]
    public async Task A_node_paused_for_20_s_should_never_acknowledge_nor_answer_reads_for_the_lists_it_lost()
    {
        await using var cluster = await TestCluster.StartAsync(Config(), output);
        var target = Enumerable.Range(0, 3).First(n => n != cluster.Oldest());
        var run = Guid.NewGuid().ToString("N")[..6];
        var quiet = (await cluster.PlaceListsAsync(Enumerable.Range(0, 100).Select(i => $"q{run}-{i}"), 1, target)).Keys.Single();
        await cluster.WorkerAsync("append", "--list", quiet, "--id", "before", "a", "b", "c");
        var frozenAt = DateTime.UtcNow;
        var wake = Task.CompletedTask;
        Disrupted paused;
        Task<RunningProcess>? sending = null;
        RunningProcess? read = null;
        var sentFrozen = false;
        try
        {
            // Frozen before the second halves: every worker of its lists must resume elsewhere.
            paused = await AppendAcrossAsync(cluster, "z", lists =>
            {
                var victim = lists.Values.First(node => node != cluster.Oldest());
                frozenAt = DateTime.UtcNow;
                cluster.Signal(victim, 19); // SIGSTOP

                // The pause is the scenario (20 s), not a wait for something to settle.
                wake = Task.Delay(TimeSpan.FromSeconds(20)).ContinueWith(_ => cluster.Signal(victim, 18), TaskScheduler.Default); // SIGCONT
                sending = CountWhileFrozenAsync();
                return Task.FromResult(victim);
            }, mustHoldListsOn: () => target);
            Assert.Equal(target, paused.Victim);
            read = await sending!;
        }
        finally
        {
            await wake;
            if (read is null && sending is not null)
            {
                // The test failed before it looked at the count: no process is left running.
                try
                {
                    await using var started = await sending;
                }
                catch (Exception e) when (e is Xunit.Sdk.XunitException or TimeoutException)
                {
                    output.WriteLine($"the quiet list's append failed too: {e.Message}");
                }
            }
        }

        // Alongside the workers: the quiet list moves to a live node with its first request (after
        // the failover) and grows there; then the count goes to the frozen node alone.
        async Task<RunningProcess> CountWhileFrozenAsync()
        {
            await cluster.WorkerAsync("append", "--list", quiet, "--id", "during", "d", "e");
            sentFrozen = !wake.IsCompleted;
            return RunningProcess.Start(Executables.Worker, ["count", "--aggregator", cluster.Endpoint(target), .. cluster.WorkerOptions,
                "--list", quiet, "--connect-timeout", "30"]);
        }

        await using var reading = read!;
        Assert.True(sentFrozen, "the count was sent after the node woke: the failover took longer than the pause");

        // Awake, it finds itself removed and stops; what it tried to write for lists it had lost, the journal refused.
        var woken = await cluster.ExitOfAsync(paused.Victim, Long);
        Assert.True(woken.ExitCode == 1, $"the paused node exited {woken.ExitCode}:\n{woken.Stderr}");
        Assert.Contains("the cluster removed this node", woken.Stderr);
        output.WriteLine($"the paused node stopped {(DateTime.UtcNow - frozenAt).TotalSeconds:0.0} s after it was frozen; the journal refused " +
            $"{Regex.Count(woken.Stderr, "is written by another node now")} of its lists' writes or reads");

        var answer = await reading.WaitForExitAsync(Long);
        output.WriteLine($"count of the quiet list sent to the paused node {(sentFrozen ? "while frozen" : "after it woke")}: exit {answer.ExitCode}, " +
            $"'{answer.Stdout.Trim()}'; {answer.Stderr.Trim().Split('\n')[^1]}");
        if (answer.ExitCode == 0)
        {
            Assert.Equal("5", answer.Stdout.Trim());
        }
        else
        {
            Assert.True(answer.ExitCode is 1 or 3, $"count on the paused node exited {answer.ExitCode}:\n{answer.Stderr}");
        }

        Assert.Equal(["a", "b", "c", "d", "e"], await cluster.ReadAllAsync(quiet));
        var everything = cluster.AllStderr(woken);
        Assert.DoesNotContain("23505", everything);
        Assert.DoesNotContain("cannot be recovered", everything);

        // The whole cluster stops and starts again: everything is recovered from the journal.
        for (var node = 0; node < 3; node++)
        {
            if (cluster[node] is not null)
            {
                await cluster.KillAsync(node);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 3).Select(cluster.RestartAsync));
        await cluster[0]!.Process.WaitForStderrAsync("(3 members up)", Long);
        foreach (var (list, producers) in paused.Producers)
        {
            AssertEachProducerOnceInOrder(await cluster.ReadAllAsync(list), producers, PerWorker);
        }
    }

    /// <summary>
    /// The read side across a failover: get, count and a follower (through another node) on a
    /// list whose node is SIGKILLed; the follower goes on with what is appended after the
    /// failover; a delete through a third contact reaches the list on its new node, the
    /// follower hears of it, and the list stays empty.
    /// </summary>
    [PostgresFact]
    public async Task Get_follow_and_delete_should_work_across_a_SIGKILL_of_the_lists_node()
    {
        await using var cluster = await TestCluster.StartAsync(Config(), output);
        var placed = await cluster.PlaceListsAsync(Enumerable.Range(0, 100).Select(i => $"rd{Guid.NewGuid():N}"[..12] + i), 1,
            Enumerable.Range(0, 3).First(n => n != cluster.Oldest()));
        var (list, victim) = placed.First();
        var contact = Enumerable.Range(0, 3).First(n => n != victim);
        await cluster.WorkerAsync("append", "--list", list, "--id", "before", "b0", "b1", "b2");
        await using var follow = Executables.StartWorker("follow", "--aggregator", cluster[contact]!.Endpoint, "--list", list, "--from", "0");
        await follow.WaitForStderrAsync($"following list '{list}'", Long);
        Assert.Equal(["b0", "b1", "b2"], [await follow.ReadLineAsync(Long), await follow.ReadLineAsync(Long), await follow.ReadLineAsync(Long)]);

        await cluster.KillAsync(victim);

        // Appends, reads and the follower carry on with the list on its new node.
        var after = await Executables.RunWorkerAsync(["append", "--aggregator", cluster[contact]!.Endpoint, "--list", list, "--id", "after", "a0", "a1"],
            timeout: Long);
        Assert.True(after.ExitCode == 0, after.Stderr);
        Assert.Equal(["b0", "b1", "b2", "a0", "a1"], await cluster.ReadAllAsync(list));
        Assert.Equal(5, Count(await cluster.WorkerAsync("count", "--list", list)));
        Assert.Equal(["a0", "a1"], [await follow.ReadLineAsync(Long), await follow.ReadLineAsync(Long)]);
        Assert.NotEqual(victim, (await cluster.WhereAsync([list]))[list]);

        // A delete through another contact reaches it there; the follower hears of it.
        var deleted = await cluster.WorkerAsync("delete", "--list", list);
        Assert.Equal([$"deleted list '{list}'"], deleted.Lines);
        await follow.WaitForStderrAsync($"list '{list}' was deleted", Long);
        Assert.Empty(await cluster.ReadAllAsync(list));
        Assert.Equal(0, Count(await cluster.WorkerAsync("count", "--list", list)));
    }

    [PostgresFact]
    public async Task A_rolling_restart_of_every_node_under_load_should_lose_nothing()
    {
        await using var cluster = await TestCluster.StartAsync(Config(), output);
        var run = Guid.NewGuid().ToString("N")[..6];
        var lists = await cluster.PlaceListsAsync(Enumerable.Range(0, 100).Select(i => $"r{run}-{i}"), 3, null);
        var producers = lists.Keys.Select((_, i) => $"r{i}{run[..2]}").ToArray();
        var workers = new List<RunningProcess>();
        try
        {
            foreach (var (list, producer) in lists.Keys.Zip(producers))
            {
                workers.Add(RunningProcess.Start(Executables.Worker,
                    ["append", "--aggregator", cluster.Contacts, "--list", list, "--id", producer, "--json", "-"], redirectStdin: true));
            }

            // A steady trickle of items for longer than the restarts take: 40 chunks, one a second.
            using var stop = new CancellationTokenSource(Long);
            var feeding = Task.WhenAll(workers.Zip(producers).Select(async p =>
            {
                foreach (var chunk in ItemFiles.Items(p.Second, PerWorker).Chunk(PerWorker / 40))
                {
                    await p.First.WriteStdinAsync(Lines(chunk)).WaitAsync(stop.Token);
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
                }

                await p.First.WriteStdinAndCloseAsync(string.Empty).WaitAsync(stop.Token);
            }));

            for (var node = 0; node < 3; node++)
            {
                var left = await cluster.StopAsync(node);
                Assert.True(left.ExitCode == 0, $"node {node} exited {left.ExitCode}: {left.Stderr}");
                var restarted = await cluster.RestartAsync(node);
                await restarted.Process.WaitForStderrAsync("(3 members up)", Long);
                Assert.False(feeding.IsCompleted, $"the workers' input ended before node {node} was restarted: not under load");
            }

            await feeding;
            var runs = await Task.WhenAll(workers.Select(w => w.WaitForExitAsync(Long)));
            foreach (var (list, (result, producer)) in lists.Keys.Zip(runs.Zip(producers)))
            {
                Assert.True(result.ExitCode == 0, $"{producer} exited {result.ExitCode}: {result.Stderr}");
                Assert.Equal(PerWorker, Summary(result, "appended") + Summary(result, "duplicates") + Summary(result, "alreadyStored"));
                AssertEachProducerOnceInOrder(await cluster.ReadAllAsync(list), [producer], PerWorker);
            }
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }
        }
    }
}
