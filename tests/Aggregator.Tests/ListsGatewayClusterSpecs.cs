using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// The gateway of a cluster node, in a real two-node cluster of two actor systems: once its
/// node shuts down, requests go to the other node's gateway, with their sender, instead of
/// to its own shard region, which is about to stop.
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
    public async Task ListsGateway_should_send_requests_to_another_Up_nodes_gateway_once_its_node_shuts_down()
    {
        using var other = ActorSystem.Create(Sys.Name, Specs.Setup(ClusterConfig));
        var self = Cluster.Get(Sys);
        await self.JoinAsync(self.SelfAddress).WaitAsync(TimeSpan.FromSeconds(20));
        await Cluster.Get(other).JoinAsync(self.SelfAddress).WaitAsync(TimeSpan.FromSeconds(20));
        await AwaitConditionAsync(() => Task.FromResult(self.State.Members.Count(m => m.Status == MemberStatus.Up) == 2), TimeSpan.FromSeconds(20));

        var elsewhere = CreateTestProbe();
        other.ActorOf(Props.Create(() => new Forwarder(elsewhere.Ref)), Protocol.ActorNames.Lists);
        var region = CreateTestProbe();
        var gateway = Sys.ActorOf(ListsGateway.Props(region.Ref, new AggregatorMetrics()));

        var batch = Specs.Batch("orders", "p1", 0, "a");
        gateway.Tell(batch);
        await region.ExpectMsgAsync<AppendBatch>();

        gateway.Tell(ListsGateway.Leaving.Instance);
        gateway.Tell(batch);
        gateway.Tell(new GetLength { List = "orders" });
        Assert.Equal(batch, await elsewhere.ExpectMsgAsync<AppendBatch>());
        Assert.Equal(TestActor.Path.ToStringWithAddress(self.SelfAddress), elsewhere.LastSender.Path.ToString());
        await elsewhere.ExpectMsgAsync<GetLength>();
        await region.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        await other.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>Stands for the other node's gateway: hands what it gets to a probe, with its sender.</summary>
    private sealed class Forwarder : ReceiveActor
    {
        public Forwarder(IActorRef probe) => ReceiveAny(message => probe.Forward(message));
    }
}
