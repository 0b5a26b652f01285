using System.Globalization;
using System.Net;
using static EndToEnd.Tests.KillScenario;

namespace EndToEnd.Tests;

// ClusterTests, continued: see ClusterTests.cs.
public sealed partial class ClusterTests
{
    [PostgresFact]
    public async Task A_node_should_be_live_but_neither_ready_nor_found_by_workers_until_it_is_an_Up_member()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var (first, second, metrics) = (Executables.FreePort(), Executables.FreePort(), Executables.FreePort());
        var (firstNodes, secondNodes) = (Executables.FreePort(), Executables.FreePort());
        string[] seeds = ["--seed", $"127.0.0.1:{firstNodes}", "--seed", $"127.0.0.1:{secondNodes}"];
        var config = Config();

        // The second seed node waits for the first, which is not there yet: it cannot join.
        await using var waiting = Executables.StartAggregator(["serve", "--port", second.ToString(CultureInfo.InvariantCulture), "--cluster",
            .. seeds, "--cluster-port", secondNodes.ToString(CultureInfo.InvariantCulture), "--config", config,
            "--metrics-port", metrics.ToString(CultureInfo.InvariantCulture)]);
        var url = $"http://127.0.0.1:{metrics}";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (await StatusAsync(http, $"{url}/health/live") != (HttpStatusCode.OK, "Healthy"))
        {
            Assert.True(clock.Elapsed < Long, $"/health/live never answered Healthy:\n{waiting.Stderr}");
            await Task.Delay(200);
        }

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await StatusAsync(http, $"{url}/health/ready"));
        var lookup = await Executables.RunWorkerAsync(["count", "--aggregator", $"127.0.0.1:{second}", "--connect-timeout", "2"]);
        Assert.True(lookup.ExitCode == 3, $"a worker found a node that is not a member: exit {lookup.ExitCode}\n{lookup.Stderr}");
        Assert.Contains($"the aggregator at 127.0.0.1:{second} did not answer within 2 s", lookup.Stderr);
        Assert.InRange(lookup.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(15)); // it waited the 2 s, not a quick refusal
        Assert.Empty(waiting.Stdout);

        // Once the first seed node starts, the two form the cluster and the second is ready.
        await using var firstNode = await ServedAggregator.StartWithAsync(
            ["--cluster", .. seeds, "--cluster-port", firstNodes.ToString(CultureInfo.InvariantCulture), "--config", config], first);
        Assert.StartsWith("ready akka.tcp://aggregator@127.0.0.1:", await waiting.ReadLineAsync(Long));

        // The line means ready: asked at once, readiness agrees (it answered 503 a moment after
        // the line once, on a loaded machine, when it read the cluster's read view alone).
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await StatusAsync(http, $"{url}/health/ready"));

        Assert.Equal(0, Count(await Executables.RunWorkerAsync(["count", "--aggregator", $"127.0.0.1:{second}", "--list", $"r{Guid.NewGuid():N}"[..12]])));
    }

    private static async Task<(HttpStatusCode, string)> StatusAsync(HttpClient http, string url)
    {
        try
        {
            using var response = await http.GetAsync(url);
            return (response.StatusCode, (await response.Content.ReadAsStringAsync()).Trim());
        }
        catch (HttpRequestException)
        {
            return (default, "not listening");
        }
    }

    [Theory]
    [InlineData(new[] { "--cluster", "--seed", "127.0.0.1:25521" }, "'SQLite.MS' is one process's journal; cluster mode needs a journal every node shares: PostgreSQL")]
    [InlineData(new[] { "--cluster", "--in-memory", "--seed", "127.0.0.1:25521" }, "--in-memory does not go with --cluster: cluster mode needs a journal every node shares")]
    [InlineData(new[] { "--cluster" }, "cluster mode needs the nodes to join: --seed HOST:PORT")]
    [InlineData(new[] { "--seed", "127.0.0.1:25521" }, "--seed, --cluster-port, --cluster-hostname and --node-cert go with --cluster")]
    [InlineData(new[] { "--cluster-port", "25531" }, "--seed, --cluster-port, --cluster-hostname and --node-cert go with --cluster")]
    [InlineData(new[] { "--cluster", "--seed", "127.0.0.1" }, "--seed '127.0.0.1' is not HOST:PORT")]
    public async Task A_cluster_node_that_cannot_work_should_be_refused_at_start_up_with_exit_2(string[] options, string message)
    {
        await using var node = Executables.StartAggregator(["serve", "--port", "0", .. options]);

        var run = await node.WaitForExitAsync(Long);

        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains(message, run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    [Fact]
    public async Task A_read_confirmation_window_as_long_as_a_takeover_should_be_refused_at_start_up_with_exit_2()
    {
        // 2 s of acceptable heartbeat pause and 2 s of stable-after, shipped: another node can start a list after 4 s.
        var config = Path.Combine(_files.Directory, "slow-reads.hocon");
        await File.WriteAllTextAsync(config, "actors.cluster.confirm-reads-after = 4s\n");
        await using var node = Executables.StartAggregator(["serve", "--port", "0", "--cluster", "--seed", "127.0.0.1:25521", "--config", config]);

        var run = await node.WaitForExitAsync(Long);

        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains("actors.cluster.confirm-reads-after", run.Stderr);
        Assert.Contains("4 s is not shorter than the least time in which another node can take a list over (4 s", run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    [PostgresFact]
    public async Task A_cluster_with_mutual_TLS_should_serve_trusted_workers_and_keep_out_other_CAs_workers_and_nodes()
    {
        using var certificates = new TestCertificates();
        await using var cluster = await TestCluster.StartAsync(Config(), output, size: 2,
            nodeOptions: [.. certificates.Aggregator.Options(certificates.CaFile), .. certificates.Node.NodeOptions(certificates.NodeCaFile)],
            workerOptions: certificates.Worker.Options(certificates.CaFile));
        Assert.StartsWith("akka.ssl.tcp://", cluster[0]!.Address);
        var lists = Enumerable.Range(0, 4).Select(i => $"tls{Guid.NewGuid():N}"[..12] + i).ToArray();
        foreach (var list in lists)
        {
            await cluster.WorkerAsync("append", "--list", list, "--id", "tw", "one", "two");
        }

        // A worker from another CA appends nothing; a node with such a certificate never joins.
        var intruder = await Executables.RunWorkerAsync(["append", "--aggregator", cluster.Contacts, "--connect-timeout", "3",
            .. certificates.OtherCaWorker.Options(certificates.CaFile), "--list", lists[0], "intruder"]);
        Assert.True(intruder.ExitCode is 2 or 3, intruder.Stderr);
        var port = Executables.FreePort();
        await using (var node = Executables.StartAggregator(["serve", "--port", port.ToString(CultureInfo.InvariantCulture), "--cluster",
            .. cluster.Seeds, "--cluster-port", Executables.FreePort().ToString(CultureInfo.InvariantCulture), "--config", Config(),
            .. certificates.Aggregator.Options(certificates.CaFile), .. certificates.OtherCaWorker.NodeOptions(certificates.OtherCaFile)]))
        {
            await cluster[0]!.Process.WaitForStderrAsync("(CN=intruder, issued by CN=Other CA) is not trusted", Long);

            // Refused, it either keeps trying to join or stops (Akka stops a system whose own
            // handshake fails); either way it never says it is ready. Its stderr ends when it
            // stops, which ends the wait for the line too.
            try
            {
                await node.WaitForStderrAsync("Couldn't join seed nodes", Long);
            }
            catch (TimeoutException)
            {
                // No line: then it must have stopped (else this times out, and the test fails), and failed.
                var run = await node.WaitForExitAsync(TimeSpan.FromSeconds(10));
                Assert.True(run.ExitCode != 0, $"a node refused by its cluster exited 0; stderr: {run.Stderr}");
            }

            Assert.Empty(node.Stdout);
        }

        Assert.DoesNotContain($":{port} joins", cluster[0]!.Process.Stderr + cluster[1]!.Process.Stderr);
        foreach (var list in lists)
        {
            Assert.Equal(["one", "two"], await cluster.ReadAllAsync(list));
        }

        var stats = await cluster.WorkerAsync("stats");
        Assert.All(lists, list => Assert.Matches($@"{list}\s+2\s+1\s+0\s+akka\.ssl\.tcp://aggregator@127\.0\.0\.1:\d+", stats.Stdout));
    }

    [PostgresFact]
    public async Task A_cluster_node_should_refuse_TLS_settings_that_would_let_a_worker_pass_for_a_node()
    {
        using var certificates = new TestCertificates();
        var config = Config();
        string[] common = ["serve", "--cluster", "--seed", "127.0.0.1:25531", "--cluster-port", "25531", "--config", config];
        (string[] Options, string Says)[] cases =
        [
            (["--port", "0", .. certificates.Aggregator.Options(certificates.CaFile)],
                "workers connect with TLS, so the nodes must too: --node-cert, --node-key and --node-ca"),
            (["--port", "0", .. certificates.Aggregator.Options(certificates.CaFile), .. certificates.Node.NodeOptions(certificates.CaFile)],
                "the nodes' certificate authority (--node-ca) is also one the workers' certificates are checked against (--tls-ca)"),
            (["--port", "25531"], "the workers' port and the nodes' port are both 25531"),
        ];
        foreach (var (options, says) in cases)
        {
            await using var node = Executables.StartAggregator([.. common, .. options]);
            var run = await node.WaitForExitAsync(Long);
            Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
            Assert.Contains(says, run.Stderr);
            Assert.DoesNotContain("   at ", run.Stderr);
            Assert.Empty(run.Stdout);
        }
    }

    /// <summary>
    /// A worker's certificate is a worker's: a process that holds one can neither join as a
    /// node, nor reach the nodes' port, nor send a node's worker-facing system anything but
    /// requests to lists (no Down, no Leave, no PoisonPill, no stop of /system). The cluster
    /// stays whole and keeps every item.
    /// </summary>
    [PostgresFact]
    public async Task A_worker_certificate_should_never_act_as_a_node()
    {
        using var certificates = new TestCertificates();
        await using var cluster = await TestCluster.StartAsync(Config(), output, size: 2,
            nodeOptions: [.. certificates.Aggregator.Options(certificates.CaFile), .. certificates.Node.NodeOptions(certificates.NodeCaFile)],
            workerOptions: certificates.Worker.Options(certificates.CaFile));
        var list = $"whole{Guid.NewGuid():N}"[..12];
        await cluster.WorkerAsync("append", "--list", list, "--id", "w", "one", "two");

        // Joining as a node with a worker's certificate: the nodes refuse its handshake.
        await using (var node = Executables.StartAggregator(["serve", "--port", Executables.FreePort().ToString(CultureInfo.InvariantCulture),
            "--cluster", .. cluster.Seeds, "--cluster-port", Executables.FreePort().ToString(CultureInfo.InvariantCulture), "--config", Config(),
            .. certificates.Aggregator.Options(certificates.CaFile), .. certificates.Worker.NodeOptions(certificates.NodeCaFile)]))
        {
            await cluster[0]!.Process.WaitForStderrAsync("(CN=worker, issued by CN=Actors Test CA) is not trusted", Long);
            Assert.Empty(node.Stdout);
        }

        // A foreign actor system with the worker's certificate tries a node's two ports.
        using var hostile = await HostileWorker.StartAsync(certificates.Worker);
        var front = cluster[0]!.Address;
        var nodes = $"akka.ssl.tcp://{Protocol.ActorNames.ClusterSystem}@{cluster.ClusterEndpoint(0)}";
        var answered = await hostile.TryEverythingAsync(front, nodes, Akka.Actor.Address.Parse(nodes));
        Assert.True(answered.Front, "the node's worker-facing /user/lists did not answer Identify");
        Assert.False(answered.Nodes, "the nodes' port answered a worker's certificate");
        await hostile.DisposeAsync();

        // The cluster is whole: nobody downed, left or stopped, every item there, and appends go on.
        var logs = cluster.AllStderr();
        Assert.DoesNotContain("is downed", logs);
        Assert.DoesNotContain(" leaves", logs);
        Assert.DoesNotContain("is removed", logs);
        await cluster.WorkerAsync("append", "--list", list, "--id", "w", "one", "two", "three");
        Assert.Equal(["one", "two", "three"], await cluster.ReadAllAsync(list));
        var stats = await cluster.WorkerAsync("stats", "--json");
        Assert.Contains(list, stats.Stdout);
        // Every node said which lists it holds (each region's answer is matched to its node).
        Assert.Empty(System.Text.Json.JsonDocument.Parse(stats.Stdout).RootElement.GetProperty("silentNodes").EnumerateArray());
    }
}
