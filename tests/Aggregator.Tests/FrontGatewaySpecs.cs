using Akka.Actor;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// A cluster node's door for workers (<see cref="FrontGateway"/>): one relay per worker's
/// actor, and no more relays at once than its limit, so that a peer sending from ever new
/// actor paths cannot fill the node's memory.
/// </summary>
public sealed class FrontGatewaySpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Specs.Setup(), "front-gateway-specs", output)
{
    [Fact]
    public async Task FrontGateway_should_refuse_a_new_workers_actor_past_its_relay_limit_and_keep_serving_the_others()
    {
        var entry = CreateTestProbe();
        var front = Sys.ActorOf(FrontGateway.Props(Sys, entry.Ref, new AggregatorMetrics(), maxRelays: 2));
        var (first, second, third) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());

        front.Tell(new GetLength { List = "a" }, first.Ref);
        front.Tell(new GetLength { List = "b" }, second.Ref);
        front.Tell(new GetLength { List = "c" }, third.Ref);

        var refused = await third.ExpectMsgAsync<RequestRefused>();
        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.StartsWith("this node relays for 2 workers' actors at once, the most it does", refused.Message);
        Assert.Equal("a", (await entry.ExpectMsgAsync<GetLength>()).List);
        var relay = entry.LastSender;
        Assert.Equal("b", (await entry.ExpectMsgAsync<GetLength>()).List);

        // A worker that has its relay goes on; its answer comes back through it.
        front.Tell(new GetLength { List = "a" }, first.Ref);
        await entry.ExpectMsgAsync<GetLength>();
        relay.Tell(new Length { List = "a", Count = 3 });
        Assert.Equal(3ul, (await first.ExpectMsgAsync<Length>()).Count);
    }
}
