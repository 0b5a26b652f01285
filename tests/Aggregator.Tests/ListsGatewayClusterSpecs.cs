using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// The gateway of a cluster node, in a real two-node cluster of two actor systems: once its
/// node shuts down, requests go to the other node's shard region, with their sender, instead of
/// to its own shard region, which is about to stop; stats name a node that does not say
/// which lists it holds.
/// </summary>
public sealed class ListsGatewayClusterSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly Config ClusterConfig = ConfigurationFactory.ParseString("""
        akka.actor.provider = cluster
        akka.cluster.log-info = off
        """);

    public ListsGatewayClusterSpecs(ITestOutputHelper output) : base(Specs.Setup(ClusterConfig), "gateway-specs", output)
    {
    }

    [Fact]
    public async Task ListsGateway_should_send_requests_to_another_Up_nodes_shard_region_once_its_node_shuts_down()
    {
        using var other = await JoinOtherNodeAsync();

        var elsewhere = CreateTestProbe();
        ((ExtendedActorSystem)other).SystemActorOf(Props.Create(() => new ShardingGuardian(elsewhere.Ref)), "sharding");
        var otherGateway = CreateTestProbe();
        other.ActorOf(Props.Create(() => new Forwarder(otherGateway.Ref)), Protocol.ActorNames.Lists);
        var region = CreateTestProbe();
        var gateway = Sys.ActorOf(ListsGateway.Props(region.Ref, new AggregatorMetrics()));

        var batch = Specs.Batch("orders", "p1", 0, "a");
        gateway.Tell(batch);
        await region.ExpectMsgAsync<AppendBatch>();

        gateway.Tell(ListsGateway.Leaving.Instance);
        gateway.Tell(batch);
        gateway.Tell(new GetLength { List = "orders" });
        Assert.Equal(batch, await elsewhere.ExpectMsgAsync<AppendBatch>());
        Assert.Equal(TestActor.Path.ToStringWithAddress(Cluster.Get(Sys).SelfAddress), elsewhere.LastSender.Path.ToString());
        await elsewhere.ExpectMsgAsync<GetLength>();
        await region.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        // Not to the other node's gateway: leaving at the same moment, it would send them back.
        await otherGateway.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));

        await other.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Stats_should_name_the_node_whose_region_did_not_say_which_lists_it_holds()
    {
        using var other = await JoinOtherNodeAsync();

        // This node runs the lists' region (no list in it yet), which answers; the other node
        // runs none, so nothing there answers.
        var region = await ClusterSharding.Get(Sys).StartAsync(ListsGateway.RegionName, Props.Create<Idle>(),
            ClusterShardingSettings.Create(Sys), new ListMessageExtractor(10));
        var gateway = Sys.ActorOf(ListsGateway.Props(region, new AggregatorMetrics()));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        gateway.Tell(new GetStats());

        var stats = await ExpectMsgAsync<Stats>(TimeSpan.FromSeconds(20));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(4.9), $"answered after {clock.Elapsed}, before the 5 s time-out");
        Assert.Empty(stats.Lists);
        Assert.Empty(stats.Unanswered);
        Assert.Equal([Cluster.Get(other).SelfAddress.ToString()], stats.SilentNodes);

        await other.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>A second actor system, and both Up in one cluster with this one as the seed.</summary>
    private async Task<ActorSystem> JoinOtherNodeAsync()
    {
        var other = ActorSystem.Create(Sys.Name, Specs.Setup(ClusterConfig));
        try
        {
            var self = Cluster.Get(Sys);
            await self.JoinAsync(self.SelfAddress).WaitAsync(TimeSpan.FromSeconds(20));
            await Cluster.Get(other).JoinAsync(self.SelfAddress).WaitAsync(TimeSpan.FromSeconds(20));
            await AwaitConditionAsync(() => Task.FromResult(self.State.Members.Count(m => m.Status == MemberStatus.Up) == 2), TimeSpan.FromSeconds(20));
            return other;
        }
        catch
        {
            other.Dispose();
            throw;
        }
    }

    /// <summary>A list entity that is never started here.</summary>
    private sealed class Idle : ReceiveActor;

    /// <summary>Stands for the other node's gateway: hands what it gets to a probe, with its sender.</summary>
    private sealed class Forwarder : ReceiveActor
    {
        public Forwarder(IActorRef probe) => ReceiveAny(message => probe.Forward(message));
    }

    /// <summary>Stands for a node's <c>/system/sharding</c>: its child <c>lists</c> is the region, forwarding what it gets.</summary>
    private sealed class ShardingGuardian : ReceiveActor
    {
        public ShardingGuardian(IActorRef probe) => Context.ActorOf(Props.Create(() => new Forwarder(probe)), ListsGateway.RegionName);
    }
}
