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

    /// <summary>
    /// The list was deleted and appended to again, past the follower's position, between two
    /// polls: the page names another incarnation, and following goes on from the new list's
    /// start instead of from the middle of it.
    /// </summary>
    [Fact]
    public async Task FollowPagesAsync_should_start_again_from_the_start_of_another_incarnation()
    {
        await using var client = AggregatorClient.Create(new AggregatorClientOptions { ActorSystem = Sys, Contacts = Contact.ToString() });
        using var stop = new CancellationTokenSource();
        var pages = client.List("orders").FollowPagesAsync(from: 0, stop.Token).GetAsyncEnumerator(stop.Token);

        var next = pages.MoveNextAsync().AsTask();
        Assert.Equal(0ul, (await Aggregator.ExpectMsgAsync<GetRange>()).From);
        Aggregator.Reply(new ItemRange { List = "orders", From = 0, Count = 2, Length = 2, Incarnation = 5, Items = PackedItems.Encode(["a", "b"]) });
        Assert.True(await next.WaitAsync(RemainingOrDefault));
        Assert.Equal((0ul, 2u, (ListRestart?)null), (pages.Current.From, pages.Current.Count, pages.Current.Restart));

        next = pages.MoveNextAsync().AsTask();
        Assert.Equal(2ul, (await Aggregator.ExpectMsgAsync<GetRange>()).From);
        Aggregator.Reply(new ItemRange { List = "orders", From = 2, Count = 1, Length = 3, Incarnation = 9, Items = PackedItems.Encode(["z"]) });
        Assert.True(await next.WaitAsync(RemainingOrDefault));
        Assert.Equal((0u, (ListRestart?)ListRestart.Deleted), (pages.Current.Count, pages.Current.Restart));

        next = pages.MoveNextAsync().AsTask();
        Assert.Equal(0ul, (await Aggregator.ExpectMsgAsync<GetRange>()).From);
        Aggregator.Reply(new ItemRange { List = "orders", From = 0, Count = 3, Length = 3, Incarnation = 9, Items = PackedItems.Encode(["x", "y", "z"]) });
        Assert.True(await next.WaitAsync(RemainingOrDefault));
        Assert.Equal((0ul, 3u, (ListRestart?)null), (pages.Current.From, pages.Current.Count, pages.Current.Restart));
        await stop.CancelAsync();
        await pages.DisposeAsync();
    }

    [Fact]
    public async Task FollowAsync_cancelled_while_it_asks_where_the_list_ends_should_end_quietly()
    {
        await using var client = AggregatorClient.Create(new AggregatorClientOptions { ActorSystem = Sys, Contacts = Contact.ToString() });
        using var stop = new CancellationTokenSource();
        var items = client.List("orders").FollowAsync(cancellationToken: stop.Token).GetAsyncEnumerator(stop.Token);
        var first = items.MoveNextAsync().AsTask();

        Assert.Equal("orders", (await Aggregator.ExpectMsgAsync<GetLength>()).List);
        await stop.CancelAsync();

        Assert.False(await first.WaitAsync(RemainingOrDefault));
        await items.DisposeAsync();
    }
}
