using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;

namespace EndToEnd.Tests;

/// <summary>
/// Peers that do not follow the protocol: garbage on the port, broken frames, a real
/// handshake followed by garbage, and a foreign actor system with messages of its own.
/// The aggregator must go on serving the real workers and lose nothing.
/// </summary>
public sealed class HostilePeerTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 20261126;
    private const int HostileConnections = 180;
    private const int ItemsPerRun = 100_000;
    private readonly ItemFiles _files = new();

    [Fact]
    public async Task Garbage_broken_frames_and_bad_envelopes_should_not_cost_a_worker_an_item()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        await SurviveGarbageAsync(aggregator);
    }

    /// <summary>
    /// The same against a node of a cluster (a cluster of one, on PostgreSQL), at the port
    /// workers use: the node's worker-facing system holds as well.
    /// </summary>
    [PostgresFact]
    public async Task Garbage_broken_frames_and_bad_envelopes_should_not_cost_a_worker_an_item_on_a_cluster_node()
    {
        await using var node = await StartClusterNodeAsync();
        await SurviveGarbageAsync(node, $"fuzz{Guid.NewGuid():N}"[..12]);
    }

    /// <summary>
    /// A foreign actor system at a cluster node's workers' port: the node's worker-facing
    /// system takes no system message and no selection but of /user/lists, so it can neither
    /// down nor remove the node, nor stop its lists or its system's actors.
    /// </summary>
    [PostgresFact]
    public async Task A_foreign_actor_system_should_neither_down_remove_nor_stop_a_cluster_node()
    {
        var clusterPort = Executables.FreePort();
        await using var node = await StartClusterNodeAsync(clusterPort);
        var list = $"kept{Guid.NewGuid():N}"[..12];
        await node.WorkerAsync("append", "--list", list, "--id", "k", "kept-1", "kept-2");
        var intruder = StartIntruder();
        try
        {
            var victim = Address.Parse($"akka.tcp://{ActorNames.ClusterSystem}@127.0.0.1:{clusterPort}");
            foreach (var name in new[] { "Akka.Cluster.ClusterUserAction+Down", "Akka.Cluster.ClusterUserAction+Leave" })
            {
                var type = typeof(Akka.Cluster.Cluster).Assembly.GetType(name, throwOnError: true)!;
                var action = Activator.CreateInstance(type, System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public
                    | System.Reflection.BindingFlags.NonPublic, null, [victim], null)!;
                intruder.ActorSelection(node.Address + "/system/cluster/core/daemon").Tell(action);
                intruder.ActorSelection(node.Address + "/user/lists").Tell(action);
            }

            intruder.ActorSelection(node.Address + "/user/lists").Tell(PoisonPill.Instance);
            intruder.ActorSelection(node.Address + "/user/lists").Tell(Kill.Instance);
            intruder.ActorSelection(node.Address + "/system").Tell(PoisonPill.Instance);
            var again = await intruder.ActorSelection(node.Address + "/user/lists").Ask<ActorIdentity>(new Identify(2), TimeSpan.FromSeconds(20));
            Assert.NotNull(again.Subject);
        }
        finally
        {
            await intruder.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }

        await node.WorkerAsync("append", "--list", list, "--id", "k2", "kept-3");
        Assert.Equal(["kept-1", "kept-2", "kept-3"], (await node.WorkerAsync("get", "--list", list)).Lines);
        Assert.DoesNotContain("is downed", node.Process.Stderr);
        Assert.DoesNotContain("is removed", node.Process.Stderr);
        Assert.False(node.Process.HasExited);
    }

    /// <summary>A cluster of one node on PostgreSQL: its workers' port free, its nodes' port <paramref name="clusterPort"/> (or free).</summary>
    private async Task<ServedAggregator> StartClusterNodeAsync(int? clusterPort = null)
    {
        var nodes = (clusterPort ?? Executables.FreePort()).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var config = PostgresFactAttribute.WriteConfig(_files.Directory, PostgresFactAttribute.ConnectionString!);
        return await ServedAggregator.StartWithAsync(["--cluster", "--seed", $"127.0.0.1:{nodes}", "--cluster-port", nodes, "--config", config]);
    }

    private async Task SurviveGarbageAsync(ServedAggregator aggregator, string list = "fuzz")
    {
        var port = Port(aggregator);
        var input = _files.Write("items.txt", "good", ItemsPerRun);
        var lists = aggregator.Address + "/user/lists";
        // One small batch in flight at a time, so that a run lasts while the garbage arrives
        // (10,000 round trips; with batches of 100 a run took under a second and could end
        // before the follower printed its first item).
        var slow = Path.Combine(_files.Directory, "slow-worker.hocon");
        await File.WriteAllTextAsync(slow, await File.ReadAllTextAsync(Path.Combine(Executables.RepositoryRoot, "config", "worker.hocon"))
            + "\nactors.worker { batch-max-items = 10, max-in-flight = 1 }\n");
        var started = new List<Task<Completed>>();
        Task<Completed> Run() => aggregator.WorkerAsync("append", "--list", list, "--id", $"run-{started.Count}", "--config", slow, "--file", input);

        await using var follow = await KillScenario.FollowAsync(aggregator, list);
        (int Kind, Delivery Delivery)[] deliveries;
        try
        {
            var current = Run();
            started.Add(current);
            await follow.ReadLineAsync(KillScenario.Long);
            Assert.False(current.IsCompleted, $"the first run ended before the garbage began: {(current.IsCompletedSuccessfully ? $"exit {current.Result.ExitCode}, {current.Result.Stderr}" : current.Exception?.Message)}");

            // Workers append run after run for as long as the hostile connections last.
            var hostile = SendHostileTrafficAsync(port, lists);
            while (await Task.WhenAny(hostile, current) != hostile)
            {
                current = Run();
                started.Add(current);
            }

            deliveries = await hostile;
        }
        finally
        {
            // Every run started ends (each is bounded, and killed when it overruns) before the aggregator goes.
            await Task.WhenAll(started.Select(run => run.ContinueWith(_ => { }, TaskScheduler.Default)));
        }

        var runs = await Task.WhenAll(started);
        var get = await aggregator.WorkerAsync("get", "--list", list);
        foreach (var kind in deliveries.GroupBy(d => d.Kind))
        {
            output.WriteLine($"kind {kind.Key}: {kind.Count()} connections, {kind.Sum(d => d.Delivery.Written)} chunks written, "
                + $"{kind.Count(d => d.Delivery.Answered)} handshakes answered, {kind.Count(d => d.Delivery.HungUp)} hung up on, "
                + $"{kind.Count(d => d.Delivery.Drained)} read to the end");
        }

        Assert.All(runs, run => Assert.True(run.ExitCode == 0, run.Stderr));
        Assert.Equal(Enumerable.Repeat(ItemFiles.Items("good", ItemsPerRun), runs.Length).SelectMany(i => i), get.Lines);

        // The hostile traffic was delivered: every handshake answered, every association got at
        // least one frame past its handshake, and the aggregator read to the end or hung up.
        var associations = deliveries.Where(d => d.Kind >= 2).Select(d => d.Delivery).ToArray();
        Assert.Equal(HostileConnections, deliveries.Length);
        Assert.True(associations.All(d => d.Answered),
            $"{associations.Count(d => !d.Answered)} of {associations.Length} handshakes were not answered within {AkkaWire.HandshakeWait.TotalSeconds} s");
        Assert.All(associations, d => Assert.True(d.Written >= 2, $"nothing delivered past the handshake: {d}"));
        Assert.All(associations, d => Assert.True(d.Drained || d.HungUp, $"the aggregator neither read to the end nor hung up: {d}"));
        Assert.All(deliveries, d => Assert.True(d.Delivery.Written >= 1, $"nothing delivered: {d}"));

        // ... and reached the transport and the serializers: each kind left its trace.
        var stderr = aggregator.Process.Stderr;
        Assert.True(Regex.Count(stderr, @"Association with remote system akka\.tcp://intruder@") >= associations.Length,
            $"fewer than {associations.Length} hostile associations ended in the aggregator's log");
        Assert.Contains("Error while decoding incoming Akka PDU", stderr);
        Assert.Matches($@"Unknown manifest '[a-z]*' for serializer {ProtocolSerializer.Id}|Malformed '[a-z]+' payload of \d+ bytes", stderr);
        Assert.Contains("for Akka's JSON serializer (serializer 1): type names are never taken from the wire", stderr);
        Assert.Contains("Status.Failure: type names are never taken from the wire", stderr);
        Assert.Contains("for remote deployment (serializer 3)", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public async Task A_foreign_actor_system_should_neither_delete_stop_kill_nor_deploy_anything()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        Assert.Equal(0, (await aggregator.WorkerAsync("append", "--list", "kept", "kept-1", "kept-2")).ExitCode);

        // Plain Akka.NET: anything without a binding travels as JSON naming its .NET type.
        var intruder = StartIntruder();
        try
        {
            var lists = (await intruder.ActorSelection(aggregator.Address + "/user/lists")
                .Ask<ActorIdentity>(new Identify(1), TimeSpan.FromSeconds(20))).Subject;
            Assert.NotNull(lists);
            var list = ((ExtendedActorSystem)intruder).Provider.ResolveActorRef(aggregator.Address + "/user/lists/kept~1");

            lists.Tell(new DeleteList { List = "kept" });
            lists.Tell(new Intrusion("not on the wire", 42));
            lists.Tell("a string");
            lists.Tell(PoisonPill.Instance);
            lists.Tell(Kill.Instance);
            list.Tell(new DeleteList { List = "kept" });
            lists.Tell(new Status.Failure(new InvalidOperationException("an exception names its own type")));
            intruder.ActorOf(Props.Create(() => new Squatter()).WithDeploy(new Deploy(new RemoteScope(Address.Parse(aggregator.Address)))));
            list.Tell(PoisonPill.Instance);
            list.Tell(Kill.Instance);
            intruder.ActorSelection(aggregator.Address + "/user/lists/kept~1").Tell(PoisonPill.Instance);
            intruder.ActorSelection(aggregator.Address + "/system").Tell(PoisonPill.Instance);

            // One association delivers in order: once this answers, all of the above has arrived.
            var again = await intruder.ActorSelection(aggregator.Address + "/user/lists")
                .Ask<ActorIdentity>(new Identify(2), TimeSpan.FromSeconds(20));
            Assert.NotNull(again.Subject);
        }
        finally
        {
            await intruder.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }

        var get = await aggregator.WorkerAsync("get", "--list", "kept");
        var append = await aggregator.WorkerAsync("append", "--list", "kept", "kept-3");
        var count = await aggregator.WorkerAsync("count", "--list", "kept");

        Assert.Equal(["kept-1", "kept-2"], get.Lines);
        Assert.Equal(0, append.ExitCode);
        Assert.Equal(["3"], count.Lines);
        Assert.Contains("type names are never taken from the wire", aggregator.Process.Stderr);
        Assert.Contains("ActorKilledException: Kill", aggregator.Process.Stderr); // delivered, and the lists actor resumed
        Assert.Contains("Status.Failure: type names are never taken from the wire", aggregator.Process.Stderr);
        Assert.Contains("for remote deployment (serializer 3)", aggregator.Process.Stderr);
        Assert.DoesNotContain("   at ", aggregator.Process.Stderr);
    }

    public void Dispose() => _files.Dispose();

    /// <summary>
    /// <see cref="HostileConnections"/> connections (fixed seed) of garbage, broken frames, and
    /// valid handshakes followed by garbage frames or envelopes no serializer should accept.
    /// </summary>
    private static async Task<(int Kind, Delivery Delivery)[]> SendHostileTrafficAsync(int port, string lists)
    {
        var deliveries = new List<(int, Delivery)>();
        var random = new Random(Seed);
        string[] manifests = ["ab", "grp", "gr", "gl", "dl", "zz", ""];
        var json = System.Text.Encoding.UTF8.GetBytes("""{"$type":"Protocol.Messages.DeleteList, Protocol","List":"fuzz"}""");
        for (var i = 0; i < HostileConnections; i++)
        {
            var handshake = AkkaWire.Associate("intruder", "127.0.0.1", random.Next(1024, 65535), (ulong)random.NextInt64());
            byte[][] chunks = (i % 9) switch
            {
                0 => [Bytes(random, 1, 4096)],
                1 => [Truncated(random)],
                2 => [handshake, .. Enumerable.Range(0, random.Next(1, 5)).Select(_ => AkkaWire.Frame(Bytes(random, 0, 2048)))],
                3 => [handshake, AkkaWire.Payload(Bytes(random, 0, 2048))],
                4 => [handshake, AkkaWire.Envelope(lists, ProtocolSerializer.Id, manifests[random.Next(manifests.Length)], Bytes(random, 0, 512))],
                5 => [handshake, AkkaWire.Envelope(lists, 1, "", json)],
                6 => [handshake, AkkaWire.Envelope(lists, 16, "STF", Bytes(random, 0, 512))],
                7 => [handshake, AkkaWire.Envelope(lists, 3, "", Bytes(random, 0, 512))],
                _ => [handshake, [0xF0, 0xFF, 0xFF, 0x7F, .. Bytes(random, 1, 64)]],
            };
            deliveries.Add((i % 9, await AkkaWire.SendAndCloseAsync(port, chunks, handshakeFirst: i % 9 >= 2)));
        }

        return [.. deliveries];
    }

    private static int Port(ServedAggregator aggregator) =>
        int.Parse(aggregator.Endpoint[(aggregator.Endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] Bytes(Random random, int min, int max)
    {
        var bytes = new byte[random.Next(min, max)];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A frame whose length promises more than follows before the connection closes.</summary>
    private static byte[] Truncated(Random random)
    {
        var promised = random.Next(64, 100_000);
        var frame = new byte[4 + random.Next(0, promised)];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(frame, promised);
        random.NextBytes(frame.AsSpan(4));
        return frame;
    }

    /// <summary>An actor a peer tries to deploy into the aggregator.</summary>
    public sealed class Squatter : ReceiveActor
    {
    }

    /// <summary>A message type the aggregator has never heard of.</summary>
    public sealed record Intrusion(string Text, int Number);

    /// <summary>A plain Akka.NET system on loopback, with Akka's default serializers: a foreign peer.</summary>
    private static ActorSystem StartIntruder() => ActorSystem.Create("intruder", ConfigurationFactory.ParseString("""
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        akka.loglevel = WARNING
        akka.coordinated-shutdown.exit-clr = off
        """));
}
