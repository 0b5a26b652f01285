using Akka.Actor;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// A list's actor answers from its own path, which a peer may send to directly: a request that
/// names another list is refused there, whatever it is, and changes nothing.
/// </summary>
public sealed class ListAddressSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Specs.System("address-specs"), output)
{
    [Fact]
    public async Task A_list_actor_should_refuse_requests_for_another_list_sent_straight_to_it()
    {
        var lists = Specs.Entry(Sys);
        await this.AppendAsync(lists, "orders", "p", 0, "a");
        var list = LastSender;
        Assert.Equal(lists.Path, list.Path.Parent); // the list's own actor answered

        list.Tell(Specs.Batch("orders", "p", 1, "b")); // its own list: taken
        Assert.Equal(2ul, (await ExpectMsgAsync<BatchAppended>()).NextOffset);

        list.Tell(Specs.Batch("other", "p", 0, "x"));
        var refused = await ExpectMsgAsync<AppendRefused>();
        Assert.Equal((Refusal.InvalidName, "a request for list 'other' was sent to the actor of list 'orders'"), (refused.Reason, refused.Message));
        list.Tell(new DeleteList { List = "other" });
        Assert.Equal(Refusal.InvalidName, (await ExpectMsgAsync<RequestRefused>()).Reason);
        list.Tell(new GetLength { List = "other" });
        Assert.Equal(Refusal.InvalidName, (await ExpectMsgAsync<RequestRefused>()).Reason);

        Assert.Equal(["a", "b"], await this.ReadListAsync(lists, "orders"));
        Assert.Empty(await this.ReadListAsync(lists, "other"));
    }
}
