using Akka.Actor;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Tests;

/// <summary>Followers of one list: held at its end until items arrive, or answered empty after their wait.</summary>
public sealed class FollowerSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ListSettings Settings = Specs.SmallLists;

    private readonly IActorRef _lists;

    public FollowerSpecs(ITestOutputHelper output) : base(Specs.System("follower-specs", lists: Settings), output)
    {
        _lists = Specs.Entry(Sys); // the production /user/lists, with the settings above
    }

    [Fact]
    public async Task ListActor_should_hold_a_follower_at_the_end_until_items_arrive()
    {
        // A follow wait far longer than the test: the page can only come from the append.
        var lists = Sys.ActorOf(Specs.ListsProps(Settings with { FollowWait = TimeSpan.FromMinutes(5) }), "patient-lists");
        lists.Tell(Specs.Batch("live", "w", 0, "old"));
        await ExpectMsgAsync<BatchAppended>();
        var follower = CreateTestProbe();

        lists.Tell(new GetRange { List = "live", From = 1, Wait = true }, follower.Ref);
        await follower.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        lists.Tell(Specs.Batch("live", "w", 1, "new1", "new2"));

        var page = await follower.ExpectMsgAsync<ItemRange>();
        Assert.Equal(1ul, page.From);
        Assert.Equal(["new1", "new2"], PackedItems.Decode(page.Items.Span));
    }

    [Fact]
    public async Task ListActor_should_refuse_a_follower_past_its_limit_and_take_one_again_once_they_are_answered()
    {
        var lists = Sys.ActorOf(Specs.ListsProps(Settings with { FollowWait = TimeSpan.FromMinutes(5), MaxFollowersPerList = 2 }), "few-followers");
        lists.Tell(Specs.Batch("tailed", "w", 0, "a"));
        await ExpectMsgAsync<BatchAppended>();
        var (first, second, third) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());

        lists.Tell(new GetRange { List = "tailed", From = 1, Wait = true }, first.Ref);
        lists.Tell(new GetRange { List = "tailed", From = 1, Wait = true }, second.Ref);
        lists.Tell(new GetRange { List = "tailed", From = 1, Wait = true }, third.Ref);

        var refused = await third.ExpectMsgAsync<RequestRefused>();
        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.Equal("list 'tailed' holds 2 followers waiting, the most it holds (max-followers-per-list); ask again", refused.Message);
        lists.Tell(Specs.Batch("tailed", "w", 1, "b"));
        await ExpectMsgAsync<BatchAppended>();
        Assert.Equal(1u, (await first.ExpectMsgAsync<ItemRange>()).Count);
        Assert.Equal(1u, (await second.ExpectMsgAsync<ItemRange>()).Count);

        lists.Tell(new GetRange { List = "tailed", From = 2, Wait = true }, third.Ref); // room again: it waits
        lists.Tell(Specs.Batch("tailed", "w", 2, "c"));
        await ExpectMsgAsync<BatchAppended>();
        Assert.Equal(2ul, (await third.ExpectMsgAsync<ItemRange>()).From);
    }

    [Fact]
    public async Task Followers_at_one_position_should_share_one_page_and_the_others_wait_on()
    {
        var followers = new Followers();
        var (first, second, later) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        followers.Add(first.Ref, 5, 100, DateTime.MaxValue);
        followers.Add(later.Ref, 9, 100, DateTime.MaxValue);
        followers.Add(second.Ref, 5, 100, DateTime.MaxValue);
        var built = new List<ulong>();

        followers.AnswerBelow(8, (from, _) =>
        {
            built.Add(from);
            return new ItemRange { List = "shared", From = from, Count = 3 };
        });

        Assert.Equal([5ul], built);
        Assert.Equal(5ul, (await first.ExpectMsgAsync<ItemRange>()).From);
        Assert.Equal(5ul, (await second.ExpectMsgAsync<ItemRange>()).From);
        Assert.Equal(1, followers.Count); // the follower at 9 waits on
    }

    [Fact]
    public async Task ListActor_should_answer_a_waiting_follower_empty_after_the_follow_wait()
    {
        var follower = CreateTestProbe();
        var asked = System.Diagnostics.Stopwatch.StartNew();

        _lists.Tell(new GetRange { List = "quiet", From = 0, Wait = true }, follower.Ref);

        var page = await follower.ExpectMsgAsync<ItemRange>(TimeSpan.FromSeconds(5));
        Assert.Equal((0u, 0ul), (page.Count, page.Length));
        Assert.True(asked.Elapsed >= Settings.FollowWait * 0.9, $"answered after {asked.Elapsed.TotalMilliseconds:0} ms, before the follow wait ({Settings.FollowWait.TotalMilliseconds} ms)");
    }

    /// <summary>
    /// A reader that names a shorter wait than the list's follow-wait (the client library names
    /// its own) is answered after it, so its request never outlives the time-out it set; one
    /// that names none waits the list's follow-wait.
    /// </summary>
    [Fact]
    public async Task ListActor_should_hold_a_follower_no_longer_than_the_wait_it_names()
    {
        var lists = Sys.ActorOf(Specs.ListsProps(Settings with { FollowWait = TimeSpan.FromMinutes(5) }), "patient-lists");
        var (hurried, patient) = (CreateTestProbe(), CreateTestProbe());
        lists.Tell(new GetRange { List = "slow", From = 0, Wait = true }, patient.Ref);
        lists.Tell(new GetRange { List = "slow", From = 0, Wait = true, WaitMs = 1500 }, hurried.Ref);

        await hurried.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500)); // 1 s with the TestKit's time factor
        var page = await hurried.ExpectMsgAsync<ItemRange>(TimeSpan.FromSeconds(5));
        Assert.Equal((0u, 0ul), (page.Count, page.Length));

        // The other is still held: only the append answers it, five minutes before its wait ends.
        await patient.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        lists.Tell(Specs.Batch("slow", "w", 0, "first"));
        await ExpectMsgAsync<BatchAppended>();
        Assert.Equal(["first"], PackedItems.Decode((await patient.ExpectMsgAsync<ItemRange>()).Items.Span));
    }

    /// <summary>Each page of a list with items names its incarnation: a follower tells a list deleted and appended to again from the one it followed.</summary>
    [Fact]
    public async Task ListActor_should_name_the_lists_incarnation_in_every_page()
    {
        // Not before the list holds durable items: one handed to a producer may not be journaled yet.
        Assert.Equal(0ul, await this.ResumeAsync(_lists, "reborn-live", "w"));
        _lists.Tell(new GetRange { List = "reborn-live", From = 0 });
        Assert.Equal(0ul, (await ExpectMsgAsync<ItemRange>()).Incarnation);

        _lists.Tell(Specs.Batch("reborn-live", "w", 0, "a"));
        var first = (await ExpectMsgAsync<BatchAppended>()).Incarnation;
        _lists.Tell(new GetRange { List = "reborn-live", From = 0 });
        var page = await ExpectMsgAsync<ItemRange>();
        Assert.Equal((1u, first), (page.Count, page.Incarnation));

        _lists.Tell(new DeleteList { List = "reborn-live" });
        await ExpectMsgAsync<ListDeleted>();
        _lists.Tell(Specs.Batch("reborn-live", "w", 0, "b"));
        var second = (await ExpectMsgAsync<BatchAppended>()).Incarnation;
        _lists.Tell(new GetRange { List = "reborn-live", From = 0 });
        var again = await ExpectMsgAsync<ItemRange>();

        Assert.NotEqual(0ul, first);
        Assert.NotEqual(first, second);
        Assert.Equal(second, again.Incarnation);
    }
}
