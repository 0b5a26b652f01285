using System.Globalization;
using System.Text.RegularExpressions;
using static EndToEnd.Tests.KillScenario;

namespace EndToEnd.Tests;

// ClusterTests, continued: see ClusterTests.cs.
public sealed partial class ClusterTests
{
    /// <summary>
    /// A partition, not a crash: each node in a network namespace of its own, joined to a
    /// service network (workers, the journal through a relay) and a cluster network (the nodes'
    /// own traffic). One node's links go down while workers append (some of them through it).
    /// The two others keep serving every list; the cut-off node, on the minority side, downs
    /// itself; no list is served by two nodes at once (no item twice, no journal write refused
    /// for a sequence number taken); after the links come back, the node restarts and rejoins,
    /// and every acknowledged item is there once.
    /// </summary>
    [PartitionFact]
    public Task A_node_cut_off_by_a_partition_should_down_itself_while_the_majority_serves_every_list() =>
        PartitionAsync(fromNodesOnly: false);

    /// <summary>
    /// The same, but only the node's cluster link goes down: it still reaches the journal, and
    /// workers still reach it (some try it first). Until it downs itself it still believes it
    /// holds its lists, and they arrive; the majority's new owners took the lists' next epochs,
    /// so whatever it tries to write is refused by the journal itself, never acknowledged.
    /// </summary>
    [PartitionFact]
    public Task A_node_cut_off_from_the_nodes_but_not_from_the_journal_should_never_write_a_list_it_lost() =>
        PartitionAsync(fromNodesOnly: true);

    private async Task PartitionAsync(bool fromNodesOnly)
    {
        using var network = NetworkNamespaces.Create(3);
        var journal = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = PostgresFactAttribute.ConnectionString! };
        var hostKey = journal.ContainsKey("Host") ? "Host" : "Server";
        using var relay = TcpRelay.Start(network.HostAddress,
            journal.TryGetValue(hostKey, out var host) ? (string)host : "127.0.0.1",
            journal.TryGetValue("Port", out var port) ? int.Parse((string)port, CultureInfo.InvariantCulture) : 5432);
        journal[hostKey] = network.HostAddress;
        journal["Port"] = relay.Port.ToString(CultureInfo.InvariantCulture);
        var config = PostgresFactAttribute.WriteConfig(_files.Directory, journal.ConnectionString);

        // Workers listen on the service bridge, where the nodes can connect back to them.
        var workerConfig = Path.Combine(_files.Directory, "worker-on-bridge.hocon");
        await File.WriteAllTextAsync(workerConfig, $"akka.remote.dot-netty.tcp.hostname = \"{network.HostAddress}\"\n");
        await using var cluster = await TestCluster.StartInAsync(network, config, output, ["--config", workerConfig]);

        var cutAt = DateTime.UtcNow;
        var cut = await AppendAcrossAsync(cluster, fromNodesOnly ? "q" : "p", lists =>
        {
            var victim = lists.Values.First();
            Assert.True(victim != cluster.Oldest(), "the list to cut off is on the oldest node: the placement did not hold");
            cutAt = DateTime.UtcNow;
            if (fromNodesOnly)
            {
                network.CutFromNodes(victim);
            }
            else
            {
                network.Cut(victim);
            }

            return Task.FromResult(victim);
        }, mustHoldListsOn: () => Enumerable.Range(0, 3).First(n => n != cluster.Oldest()), mustPause: !fromNodesOnly);

        // The majority served every list meanwhile (every worker finished, above); the
        // cut-off node saw itself on the minority side and downed itself.
        var alone = await cluster.ExitOfAsync(cut.Victim, Long);
        output.WriteLine($"the cut-off node {cut.Victim} stopped by itself {(DateTime.UtcNow - cutAt).TotalSeconds:0.0} s after the cut, at the latest");
        Assert.True(alone.ExitCode == 1, $"the cut-off node exited {alone.ExitCode}:\n{alone.Stderr}");
        Assert.Contains("the cluster removed this node", alone.Stderr);
        if (fromNodesOnly)
        {
            output.WriteLine($"the cut-off node was refused {Regex.Count(alone.Stderr, "is written by another node now")} writes of lists it had lost");
        }

        // Never two incarnations of a list writing: a second writer would have met the
        // journal's primary key (persistence id, sequence number), and said so.
        var everything = cluster.AllStderr(alone);
        Assert.DoesNotContain("23505", everything);
        Assert.DoesNotContain("duplicate key", everything);

        // The links come back; the node restarts on its address and rejoins; nothing moved.
        network.Heal(cut.Victim, network.HostAddress, relay.Port);
        var back = await cluster.RestartAsync(cut.Victim);
        await back.Process.WaitForStderrAsync("(3 members up)", Long);
        foreach (var (list, producers) in cut.Producers)
        {
            AssertEachProducerOnceInOrder(await cluster.ReadAllAsync(list), producers, PerWorker);
        }
    }
}
