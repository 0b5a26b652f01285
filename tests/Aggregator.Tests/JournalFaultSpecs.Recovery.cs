using Akka.Actor;
using Akka.Persistence.TestKit;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Tests;

// JournalFaultSpecs, continued: recovery, readers during slow writes, incarnations and hand-overs.
public sealed partial class JournalFaultSpecs
{
    [Fact]
    public async Task A_list_that_cannot_be_recovered_should_refuse_what_came_meanwhile_as_unavailable_and_be_loaded_again_by_the_next_request()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "stored", "a", 0, "a0", "a1");
        lists = await RestartAsync(lists, Durable);
        await _journal.OnRecovery.Fail();

        // Every request that came while it loaded hears at once that it may ask again (a worker
        // retries UNAVAILABLE with back-off), not silence until its own time-out.
        lists.Tell(new GetLength { List = "stored" });
        lists.Tell(Specs.Batch("stored", "a", 2, "a2"));
        lists.Tell(new DeleteList { List = "stored" });
        var length = await ExpectMsgAsync<RequestRefused>();
        var batch = await ExpectMsgAsync<AppendRefused>();
        var delete = await ExpectMsgAsync<RequestRefused>();
        Assert.All([length.Reason, batch.Reason, delete.Reason], reason => Assert.Equal(Refusal.Unavailable, reason));
        Assert.All([length.Message, batch.Message, delete.Message], message =>
            Assert.StartsWith("loading list 'stored' from the journal failed: ", message));
        Assert.Equal(("a", 2ul), (batch.Producer, batch.FirstOffset));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        await _journal.OnRecovery.Pass();

        // Nothing of them was applied; the next request loads the list again.
        Assert.Equal(["a0", "a1"], await this.ReadListAsync(lists, "stored"));
    }

    [Fact]
    public async Task ListActor_should_show_readers_and_followers_only_durable_items_while_the_journal_is_slow()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "slow", "a", 0, "a0");
        var follower = CreateTestProbe();
        lists.Tell(new GetRange { List = "slow", From = 1, Wait = true }, follower.Ref);
        var gate = new WriteGate(blockFrom: 2);
        await _journal.OnWrite.SetInterceptorAsync(gate);

        lists.Tell(Specs.Batch("slow", "a", 1, "a1"));
        lists.Tell(Specs.Batch("slow", "a", 2, "a2"));
        await ExpectMsgAsync<BatchAppended>(); // a1 is journaled; a2's write stalls
        await gate.Entered.Task.WaitAsync(RemainingOrDefault);

        var page = await follower.ExpectMsgAsync<ItemRange>();
        Assert.Equal(["a1"], PackedItems.Decode(page.Items.Span));
        Assert.Equal(2ul, page.Length);
        Assert.Equal(["a0", "a1"], await this.ReadListAsync(lists, "slow"));
        lists.Tell(new GetLength { List = "slow" });
        Assert.Equal(2ul, (await ExpectMsgAsync<Length>()).Count);
        lists.Tell(new GetRange { List = "slow", From = 2, Wait = true }, follower.Ref);
        await follower.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        gate.Open();
        await ExpectMsgAsync<BatchAppended>();
        Assert.Equal(["a2"], PackedItems.Decode((await follower.ExpectMsgAsync<ItemRange>()).Items.Span));
    }

    [Fact]
    public async Task ListActor_should_answer_an_expired_follow_wait_without_items_still_being_written()
    {
        var lists = Start(Durable with { FollowWait = TimeSpan.FromMilliseconds(300) });
        await this.AppendAsync(lists, "waiting", "a", 0, "a0");
        var gate = new WriteGate();
        await _journal.OnWrite.SetInterceptorAsync(gate);
        var follower = CreateTestProbe();
        var asked = System.Diagnostics.Stopwatch.StartNew();

        lists.Tell(new GetRange { List = "waiting", From = 1, Wait = true }, follower.Ref);
        lists.Tell(Specs.Batch("waiting", "a", 1, "a1"));
        await gate.Entered.Task.WaitAsync(RemainingOrDefault);

        var page = await follower.ExpectMsgAsync<ItemRange>(TimeSpan.FromSeconds(5));
        Assert.Equal((0u, 1ul), (page.Count, page.Length));
        Assert.True(asked.Elapsed >= TimeSpan.FromMilliseconds(270), $"answered after {asked.Elapsed.TotalMilliseconds:0} ms, before the 300 ms follow wait");
        gate.Open();
        await ExpectMsgAsync<BatchAppended>();
    }

    [Fact]
    public async Task ListActor_should_refuse_a_list_whose_journal_has_a_hole_and_leave_the_others_serving()
    {
        var writer = Sys.ActorOf(Props.Create(() => new RawWriter("list-holed")));
        writer.Tell(new ItemsAppended { Producer = "p", FirstOffset = 0, Count = 2, Items = PackedItems.Encode(["p0", "p1"]), Incarnation = 7 });
        writer.Tell(new ItemsAppended { Producer = "p", FirstOffset = 5, Count = 1, Items = PackedItems.Encode(["p5"]), Incarnation = 7 });
        await ExpectMsgAsync<long>();
        await ExpectMsgAsync<long>();
        var lists = Start(Durable);
        await this.AppendAsync(lists, "healthy", "a", 0, "a0");

        lists.Tell(new GetLength { List = "holed" });
        var refused = await ExpectMsgAsync<RequestRefused>();
        Assert.Equal(Refusal.ListBroken, refused.Reason);
        Assert.Contains("event 2 of persistence id 'list-holed' starts producer 'p' at offset 5", refused.Message);
        Assert.Contains("end at offset 2", refused.Message);
        lists.Tell(Specs.Batch("holed", "p", 2, "p2"));
        Assert.Equal(Refusal.ListBroken, (await ExpectMsgAsync<AppendRefused>()).Reason);
        Assert.Equal(["a0"], await this.ReadListAsync(lists, "healthy"));

        lists.Tell(new DeleteList { List = "holed" });
        Assert.True((await ExpectMsgAsync<ListDeleted>()).Existed);
        await this.AppendAsync(lists, "holed", "p", 0, "fresh");
        Assert.Equal(["fresh"], await this.ReadListAsync(lists, "holed"));
    }

    [Fact]
    public async Task ListActor_should_refuse_an_append_for_a_deleted_incarnation_and_start_afresh_from_offset_0()
    {
        var lists = Start(Durable);
        lists.Tell(Specs.Batch("reborn", "a", 0, "a0", "a1"));
        var incarnation = (await ExpectMsgAsync<BatchAppended>()).Incarnation;
        Assert.NotEqual(0ul, incarnation);
        lists.Tell(new DeleteList { List = "reborn" });
        await ExpectMsgAsync<ListDeleted>();

        var late = Specs.Batch("reborn", "a", 2, "a2");
        late.Incarnation = incarnation;
        lists.Tell(late);
        var refused = await ExpectMsgAsync<AppendRefused>();
        Assert.Equal(Refusal.ListDeleted, refused.Reason);
        lists.Tell(new GetResumePosition { List = "reborn", Producer = "a", Incarnation = incarnation });
        Assert.Equal(Refusal.ListDeleted, (await ExpectMsgAsync<RequestRefused>()).Reason);
        Assert.Empty(await this.ReadListAsync(lists, "reborn"));

        // A run that starts again (incarnation 0) from its first item starts a new list.
        lists.Tell(Specs.Batch("reborn", "a", 0, "again"));
        var ack = await ExpectMsgAsync<BatchAppended>();
        Assert.NotEqual(incarnation, ack.Incarnation);
        Assert.Equal(["again"], await this.ReadListAsync(lists, "reborn"));
    }

    [Fact]
    public async Task ListActor_should_finish_its_writes_in_flight_before_it_stops_for_a_hand_over()
    {
        var list = Sys.ActorOf(ListActor.Props("moving", Durable, new AggregatorMetrics()), "moving-1");
        Watch(list);
        list.Tell(Specs.Batch("moving", "a", 0, "a0"));
        await ExpectMsgAsync<BatchAppended>();
        var follower = CreateTestProbe();
        list.Tell(new GetRange { List = "moving", From = 1, Wait = true }, follower.Ref);
        var gate = new WriteGate();
        await _journal.OnWrite.SetInterceptorAsync(gate);

        list.Tell(Specs.Batch("moving", "a", 1, "a1", "a2"));
        await gate.Entered.Task.WaitAsync(RemainingOrDefault);
        list.Tell(ListActor.StopList.Instance); // what a shard sends when the list moves or idles

        // The follower is answered (it asks again, wherever the list is next); the list waits for its write.
        Assert.Equal(1ul, (await follower.ExpectMsgAsync<ItemRange>()).Length);
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        gate.Open();
        Assert.Equal(3ul, (await ExpectMsgAsync<BatchAppended>()).NextOffset);
        await ExpectTerminatedAsync(list);

        await _journal.OnWrite.Pass();
        var next = Sys.ActorOf(ListActor.Props("moving", Durable, new AggregatorMetrics()), "moving-2");
        Assert.Equal(["a0", "a1", "a2"], await this.ReadListAsync(next, "moving"));
    }

    /// <summary>
    /// A follower that comes while the list waits for a write to stop for a hand-over is
    /// answered at once, as those waiting at the hand-over were (it was kept as a follower of
    /// a list about to stop without answering it: its reader waited for its time-out).
    /// </summary>
    [Fact]
    public async Task ListActor_should_answer_a_follower_that_comes_while_it_stops_for_a_hand_over()
    {
        var list = Sys.ActorOf(ListActor.Props("leaving", Durable, new AggregatorMetrics()), "leaving-1");
        Watch(list);
        var gate = new WriteGate();
        await _journal.OnWrite.SetInterceptorAsync(gate);
        list.Tell(new GetResumePosition { List = "leaving", Producer = "a" }); // its incarnation is journaled first
        await gate.Entered.Task.WaitAsync(RemainingOrDefault);
        list.Tell(ListActor.StopList.Instance);

        var follower = CreateTestProbe();
        list.Tell(new GetRange { List = "leaving", From = 0, Wait = true }, follower.Ref);

        var page = await follower.ExpectMsgAsync<ItemRange>();
        Assert.Equal((0u, 0ul), (page.Count, page.Length));
        gate.Open();
        Assert.Equal(0ul, (await ExpectMsgAsync<ResumePosition>()).NextOffset);
        await ExpectTerminatedAsync(list);
        await _journal.OnWrite.Pass();
    }

    [Fact]
    public async Task ListActor_should_stop_for_a_hand_over_at_once_when_nothing_is_in_flight()
    {
        var list = Sys.ActorOf(ListActor.Props("still", Durable, new AggregatorMetrics()), "still-1");
        Watch(list);
        list.Tell(Specs.Batch("still", "a", 0, "a0"));
        await ExpectMsgAsync<BatchAppended>();

        list.Tell(ListActor.StopList.Instance);

        await ExpectTerminatedAsync(list);
    }
}
