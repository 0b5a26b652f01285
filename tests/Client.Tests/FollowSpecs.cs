using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;
using ItemRange = Protocol.Messages.Range;

namespace Client.Tests;

/// <summary><see cref="AggregatorList.FollowAsync"/> against a scripted aggregator: what each poll asks for.</summary>
public sealed class FollowSpecs(ITestOutputHelper output) : ScriptedAggregatorKit(output)
{
    /// <summary>
    /// Each poll names the client's follow wait, so an aggregator whose own follow-wait is
    /// longer answers it in time, before the client gives the poll up; the next poll starts
    /// where the page ended.
    /// </summary>
    [Fact]
    public async Task FollowAsync_should_name_its_follow_wait_in_every_poll_and_go_on_from_each_page()
    {
        await using var client = AggregatorClient.Create(new AggregatorClientOptions
        {
            ActorSystem = Sys,
            Contacts = Contact.ToString(),
            FollowWait = TimeSpan.FromSeconds(7),
        });
        using var stop = new CancellationTokenSource();
        var items = client.List("orders").FollowAsync(from: 0, stop.Token).GetAsyncEnumerator(stop.Token);
        var first = items.MoveNextAsync().AsTask();

        var poll = await Aggregator.ExpectMsgAsync<GetRange>();
        Assert.Equal(("orders", 0ul, true, 7000u), (poll.List, poll.From, poll.Wait, poll.WaitMs));
        Aggregator.Reply(new ItemRange { List = "orders", From = 0, Count = 2, Length = 2, Items = PackedItems.Encode(["a", "b"]) });
        Assert.True(await first.WaitAsync(RemainingOrDefault));
        Assert.Equal("a", items.Current.Value);
        Assert.True(await items.MoveNextAsync());
        Assert.Equal("b", items.Current.Value);

        var next = items.MoveNextAsync().AsTask();
        poll = await Aggregator.ExpectMsgAsync<GetRange>();
        Assert.Equal((2ul, true, 7000u), (poll.From, poll.Wait, poll.WaitMs));
        await stop.CancelAsync();
        Assert.False(await next.WaitAsync(RemainingOrDefault));
        await items.DisposeAsync();
    }
}
