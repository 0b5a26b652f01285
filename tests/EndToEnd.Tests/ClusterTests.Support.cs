using System.Globalization;
using System.Text.RegularExpressions;
using static EndToEnd.Tests.KillScenario;

namespace EndToEnd.Tests;

// ClusterTests, continued: see ClusterTests.cs.
public sealed partial class ClusterTests
{
    public void Dispose() => _files.Dispose();

    private string Config() => PostgresFactAttribute.WriteConfig(_files.Directory, PostgresFactAttribute.ConnectionString!);

    /// <summary>
    /// Eight workers appending 200,000 items each to six lists: three to the first list (the
    /// one placed on <paramref name="mustHoldListsOn"/> if given), one to each other list;
    /// each tries the nodes in a different order, so some send through every node. Each sends
    /// half of its items through stdin, then <paramref name="disrupt"/> runs (given where each
    /// list is; answering which node it took away), then the other half. Asserts every worker
    /// exits 0 with a summary that adds up and every list holds its producers' items once
    /// each, in each producer's order; prints and returns how long each worker whose list was
    /// on the lost node went without acknowledgements.
    /// </summary>
    /// <param name="mustHoldListsOn">a node that must hold one of the lists (new names are tried until it does).</param>
    /// <param name="mustPause">
    /// every worker of a lost list must have gone without acknowledgements (a node killed);
    /// false for a graceful hand-over, which may lose nothing at all (a pause of 0).
    /// </param>
    /// <param name="maxPause">
    /// the longest any of them may have waited to resume (measured from the disruption): the
    /// failover the settings promise, with room for a loaded machine; Akka's defaults (about
    /// 50 s) fail it.
    /// </param>
    private async Task<Disrupted> AppendAcrossAsync(TestCluster cluster, string tag,
        Func<IReadOnlyDictionary<string, int>, Task<int>> disrupt, Func<int>? mustHoldListsOn = null, bool mustPause = true, bool midStream = false,
        TimeSpan? maxPause = null)
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var lists = await cluster.PlaceListsAsync(Enumerable.Range(0, 100).Select(i => $"{tag}{run}-{i}"), 6, mustHoldListsOn?.Invoke());
        var producers = lists.Keys.Select((list, i) => Enumerable.Range(0, i == 0 ? 3 : 1).Select(p => $"{tag}{i}{(char)('a' + p)}{run[..2]}").ToArray())
            .Zip(lists.Keys).ToDictionary(p => p.Second, p => p.First);
        var appends = producers.SelectMany(p => p.Value.Select(producer => (List: p.Key, Producer: producer))).ToArray();
        var workers = new List<RunningProcess>();
        try
        {
            foreach (var (append, i) in appends.Select((a, i) => (a, i)))
            {
                workers.Add(RunningProcess.Start(Executables.Worker,
                    ["append", "--aggregator", cluster.ContactsFrom(i), .. cluster.WorkerOptions, "--list", append.List, "--id", append.Producer, "--json", "-"],
                    redirectStdin: true));
            }

            foreach (var (worker, append) in workers.Zip(appends))
            {
                await worker.WriteStdinAsync(Lines(ItemFiles.Items(append.Producer, Half)), Long);
            }

            foreach (var list in lists.Keys)
            {
                await cluster.WaitForCountAsync(list, atLeast: 16_384);
            }

            // Where the lists are now: shards may have been rebalanced since they were placed.
            lists = await cluster.WhereAsync(lists.Keys);

            // The second halves, all at once: a pipe write blocks while its worker waits, and
            // every worker must be sending while the lost node's lists are away. Mid-stream:
            // the disruption comes once the first list has taken 20,000 items more (some
            // workers may finish before it). Otherwise it comes first, so that every worker
            // of a lost list has to resume.
            var writing = Task.CompletedTask;
            if (midStream)
            {
                var first = lists.Keys.First();
                var before = await cluster.WaitForCountAsync(first, atLeast: 0);
                writing = SecondHalvesAsync();
                await cluster.WaitForCountAsync(first, atLeast: before + 20_000);
            }

            var killedAt = DateTime.UtcNow;
            var victim = await disrupt(lists);
            await (midStream ? writing : SecondHalvesAsync()).WaitAsync(Long);

            Task SecondHalvesAsync() => Task.WhenAll(workers.Zip(appends).Select(p =>
                p.First.WriteStdinAndCloseAsync(Lines(ItemFiles.Items(p.Second.Producer, PerWorker).Skip(Half)))));

            var runs = await Task.WhenAll(workers.Select(w => w.WaitForExitAsync(Long)));
            var pauses = new List<TimeSpan>();
            var waits = new List<TimeSpan>();
            foreach (var (append, result) in appends.Zip(runs))
            {
                Assert.True(result.ExitCode == 0, $"{append.Producer} exited {result.ExitCode}: {result.Stderr}");
                Assert.Equal(PerWorker, Summary(result, "appended") + Summary(result, "duplicates") + Summary(result, "alreadyStored"));
                if (lists[append.List] == victim)
                {
                    var resumed = FirstAcknowledgementAfter(result.Stderr, killedAt);
                    Assert.True(resumed is not null || !mustPause,
                        $"{append.Producer} (list {append.List} on the lost node {victim}) logged no resumption:\n{result.Stderr}\nthe nodes said of it:\n{cluster.LogLinesWith(append.List)}");
                    pauses.Add(resumed is { } at ? at - killedAt : TimeSpan.Zero);
                    waits.Add(SummarySeconds(result, "longestAckWaitSeconds"));
                }
            }

            foreach (var (list, listProducers) in producers)
            {
                AssertEachProducerOnceInOrder(await cluster.ReadAllAsync(list), listProducers, PerWorker);
            }

            Assert.NotEmpty(pauses);
            var bound = maxPause ?? FailoverBound;
            Assert.All(pauses, pause => Assert.True(pause <= bound, $"appends to the lost node's lists paused {pause.TotalSeconds:0.0} s, more than {bound.TotalSeconds} s"));
            output.WriteLine($"node {victim} lost: appends to its lists ({pauses.Count} workers) resumed on another node after " +
                string.Join(", ", pauses.Select(p => p == TimeSpan.Zero ? "no pause (nothing to resend)" : $"{p.TotalSeconds:0.0} s")) +
                "; the longest wait each saw for an acknowledgement: " + string.Join(", ", waits.Select(w => $"{w.TotalSeconds:0.00} s")));
            return new Disrupted(victim, waits.ToArray(), producers);
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }
        }
    }

    /// <param name="Victim">the node taken away.</param>
    /// <param name="Waits">for each worker of a list on it: the longest it waited for an acknowledgement in the whole run, as it reports.</param>
    /// <param name="Producers">each list, with the producers that appended to it.</param>
    private sealed record Disrupted(int Victim, TimeSpan[] Waits, IReadOnlyDictionary<string, string[]> Producers);

    /// <summary>
    /// When a worker heard an acknowledgement again after losing one: the time of its log line
    /// saying it resumed with another node, or that acknowledgements came back.
    /// </summary>
    private static DateTime? FirstAcknowledgementAfter(string stderr, DateTime since)
    {
        foreach (Match line in ResumedLine().Matches(stderr))
        {
            var at = DateTime.ParseExact(line.Groups["at"].Value, "yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
            if (at >= since)
            {
                return at;
            }
        }

        return null;
    }

    [GeneratedRegex(@"^\[WARNING\]\[(?<at>[0-9: .-]+)\]\[[^\]]*\] (Resuming at offset|Acknowledged again)", RegexOptions.Multiline)]
    private static partial Regex ResumedLine();

    private static string Lines(IEnumerable<string> items) => string.Concat(items.Select(i => i + "\n"));
}
