using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Client;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Protocol;
using Protocol.Messages;

// One cluster node (a shard region of trivial list entities that acknowledge every batch at
// once, so that only the routing is measured) and one worker-side actor system, over TCP on
// 127.0.0.1, with our Protocol Buffers serializer. The same requests go two ways, in
// alternating rounds:
//   gateway:        worker -> node's /user/lists -> shard region -> list; the list answers the worker directly
//   cluster-client: worker -> ClusterClient -> node's receptionist -> /user/lists -> region -> list;
//                   the answer goes back through the receptionist and the client
//   list:           worker -> the list's actor itself, its reference resolved once
// Prints one line per way: "ROUTE p50_us p99_us batches_per_s" (latency: one acknowledged
// batch of one item at a time; throughput: 64 batches of 100 items in flight).
var latencyCount = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
var throughputCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20000;
const int Rounds = 4;
const int Window = 64;

var common = ConfigurationFactory.ParseString("""
    akka.loglevel = WARNING
    akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
    akka.actor.serialization-settings.allow-unregistered-types = false
    """);
var nodeConfig = ConfigurationFactory.ParseString("""
    akka.actor.provider = cluster
    akka.cluster.sharding.state-store-mode = ddata
    akka.cluster.sharding.distributed-data.durable.keys = []
    akka.cluster.sharding.remember-entities = off
    """).WithFallback(common).WithFallback(ClusterSharding.DefaultConfig()).WithFallback(ClusterClientReceptionist.DefaultConfig())
    .WithFallback(DistributedPubSub.DefaultConfig());
var workerConfig = ConfigurationFactory.ParseString("akka.actor.provider = remote")
    .WithFallback(common).WithFallback(ClusterClientReceptionist.DefaultConfig()).WithFallback(DistributedPubSub.DefaultConfig());

using var node = ActorSystem.Create("aggregator", BootstrapSetup.Create().WithConfig(nodeConfig).And(ProtocolSerializer.Setup));
var cluster = Cluster.Get(node);
var up = new TaskCompletionSource();
cluster.RegisterOnMemberUp(() => up.TrySetResult());
cluster.Join(cluster.SelfAddress);
await up.Task.WaitAsync(TimeSpan.FromSeconds(30));

var extractor = HashCodeMessageExtractor.Create(100, m => m is AppendBatch b ? b.List : null);
var region = await ClusterSharding.Get(node).StartAsync("lists", _ => Props.Create<AcknowledgingList>(),
    ClusterShardingSettings.Create(node), extractor);
var gateway = node.ActorOf(Props.Create(() => new Gateway(region)), "lists");
ClusterClientReceptionist.Get(node).RegisterService(gateway);

using var worker = ActorSystem.Create("worker", BootstrapSetup.Create().WithConfig(workerConfig).And(ProtocolSerializer.Setup));
var nodeAddress = cluster.SelfAddress;
var direct = await worker.ActorSelection(new RootActorPath(nodeAddress) / "user" / "lists").ResolveOne(TimeSpan.FromSeconds(10));
var client = worker.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(worker)
    .WithInitialContacts(ImmutableHashSet.Create<ActorPath>(new RootActorPath(nodeAddress) / "system" / "receptionist"))), "client");

// The list actors themselves, resolved once by path (as a worker could keep the sender of
// a reply): what the route costs beyond the list.
await direct.Ask<object>(Batch("probe", 0, 1), TimeSpan.FromSeconds(10));
await direct.Ask<object>(Batch("bulk", 0, 1), TimeSpan.FromSeconds(10));
var lists = new Dictionary<string, IActorRef>();
foreach (var name in new[] { "probe", "bulk" })
{
    var shard = extractor.ShardId(name, Batch(name, 0, 1));
    lists[name] = await worker.ActorSelection(new RootActorPath(nodeAddress) / "system" / "sharding" / "lists" / shard / name)
        .ResolveOne(TimeSpan.FromSeconds(10));
}

var ways = new (string Name, Func<AppendBatch, Task<object>> Ask)[]
{
    ("gateway", batch => direct.Ask<object>(batch, TimeSpan.FromSeconds(10))),
    ("cluster-client", batch => client.Ask<object>(new ClusterClient.Send("/user/lists", batch), TimeSpan.FromSeconds(10))),
    ("list", batch => lists[batch.List].Ask<object>(batch, TimeSpan.FromSeconds(10))),
};

// Warm up both ways (JIT, connections, the shard's allocation) before anything is counted.
foreach (var way in ways)
{
    for (var i = 0; i < 500; i++)
    {
        await way.Ask(Batch("probe", (ulong)i, 1));
    }
}

var latencies = ways.ToDictionary(w => w.Name, _ => new List<double>());
var throughput = ways.ToDictionary(w => w.Name, _ => new List<double>());
var offset = 1000UL;
for (var round = 0; round < Rounds; round++)
{
    foreach (var way in ways)
    {
        for (var i = 0; i < latencyCount / Rounds; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var reply = await way.Ask(Batch("probe", offset++, 1));
            latencies[way.Name].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            Check(reply);
        }

        var clock = Stopwatch.StartNew();
        var sent = 0;
        async Task Lane()
        {
            while (Interlocked.Increment(ref sent) <= throughputCount / Rounds)
            {
                Check(await way.Ask(Batch("bulk", (ulong)Interlocked.Increment(ref offset), 100)));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Window).Select(_ => Lane()));
        throughput[way.Name].Add(throughputCount / Rounds / clock.Elapsed.TotalSeconds);
    }
}

foreach (var way in ways)
{
    var sorted = latencies[way.Name].Order().ToArray();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{way.Name} {sorted[sorted.Length / 2]:0} {sorted[(int)(sorted.Length * 0.99)]:0} {throughput[way.Name].Order().ElementAt(Rounds / 2):0}"));
}

await client.GracefulStop(TimeSpan.FromSeconds(5));
await worker.Terminate();
await node.Terminate();
return 0;

static AppendBatch Batch(string list, ulong first, int count) => new()
{
    List = list,
    Producer = "probe",
    FirstOffset = first,
    Count = (uint)count,
    Items = count == 1 ? Items.One : Items.Hundred,
};

static void Check(object reply)
{
    if (reply is not BatchAppended)
    {
        throw new InvalidOperationException($"unexpected reply {reply}");
    }
}

internal static class Items
{
    public static readonly Google.Protobuf.ByteString One = PackedItems.Encode(["it-0-00000000"]);
    public static readonly Google.Protobuf.ByteString Hundred = PackedItems.Encode(Enumerable.Range(0, 100).Select(i => $"it-0-{i:00000000}"));
}

/// <summary>What our gateway does on the hot path: forward to the region, keeping the sender.</summary>
internal sealed class Gateway : ReceiveActor
{
    public Gateway(IActorRef region) => ReceiveAny(region.Forward);
}

/// <summary>A list that acknowledges every batch at once, storing nothing.</summary>
internal sealed class AcknowledgingList : ReceiveActor
{
    public AcknowledgingList() => Receive<AppendBatch>(b => Sender.Tell(new BatchAppended
    {
        List = b.List,
        Producer = b.Producer,
        FirstOffset = b.FirstOffset,
        NextOffset = b.FirstOffset + b.Count,
        Applied = b.Count,
    }));
}
