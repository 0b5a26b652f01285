using Akka.Actor;
using Protocol;
using Protocol.Messages;

namespace Aggregator.Tests;

// JournalFaultSpecs, continued: deletes against writes in flight and a journal that fails them.
public sealed partial class JournalFaultSpecs
{
    [Fact]
    public async Task ListActor_should_delete_the_writes_in_flight_when_the_delete_arrived()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "orders", "a", 0, "a0", "a1");
        var gate = new WriteGate();
        await _journal.OnWrite.SetInterceptorAsync(gate);

        lists.Tell(Specs.Batch("orders", "a", 2, "a2", "a3"));
        lists.Tell(Specs.Batch("orders", "b", 0, "b0"));
        await gate.Entered.Task.WaitAsync(RemainingOrDefault);
        lists.Tell(new DeleteList { List = "orders" });
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200)); // nothing is answered before the writes end
        gate.Open();

        // The writes were journaled, so they are acknowledged, and then the delete removes them.
        await ExpectMsgAsync<BatchAppended>();
        await ExpectMsgAsync<BatchAppended>();
        Assert.True((await ExpectMsgAsync<ListDeleted>()).Existed);
        Assert.Equal(0, await RecoveredEventsAsync("list-orders"));
        lists = await RestartAsync(lists, Durable);
        Assert.Empty(await this.ReadListAsync(lists, "orders"));
        Assert.Equal(0ul, await this.ResumeAsync(lists, "orders", "a"));
    }

    /// <summary>
    /// A producer asks where to resume in a new list, and the delete arrives while the list's
    /// incarnation is being journaled: the delete waits for that write and removes it too. (It
    /// went to the journal at once, up to the events written before, and the incarnation stayed
    /// in the journal: loaded again, the list took it back, and refused the producers that had
    /// appended after the delete as sent to a deleted list.)
    /// </summary>
    [Fact]
    public async Task ListActor_should_delete_an_incarnation_being_journaled_when_the_delete_arrived()
    {
        var lists = Start(Durable);
        var deleteStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await FaultyJournal.SetDeleteHook(Sys, (_, _) =>
        {
            deleteStarted.TrySetResult();
            return Task.CompletedTask;
        });
        var gate = new WriteGate();
        await _journal.OnWrite.SetInterceptorAsync(gate);
        var early = CreateTestProbe();
        lists.Tell(new GetResumePosition { List = "fresh", Producer = "p" }, early.Ref);
        await gate.Entered.Task.WaitAsync(RemainingOrDefault);

        lists.Tell(new DeleteList { List = "fresh" });
        await Task.WhenAny(deleteStarted.Task, Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.False(deleteStarted.Task.IsCompleted, "the delete went to the journal while the incarnation was being written");
        gate.Open();

        var before = (await early.ExpectMsgAsync<ResumePosition>()).Incarnation;
        await ExpectMsgAsync<ListDeleted>();
        Assert.Equal(0, await RecoveredEventsAsync("list-fresh"));

        // A producer after the delete appends to the list's next incarnation, after a restart too.
        var after = await this.ResumeAsync(lists, "fresh", "q");
        Assert.Equal(0ul, after);
        await this.AppendAsync(lists, "fresh", "q", 0, "q0");
        lists = await RestartAsync(lists, Durable);
        lists.Tell(new GetResumePosition { List = "fresh", Producer = "q" });
        var resumed = await ExpectMsgAsync<ResumePosition>();
        Assert.Equal(1ul, resumed.NextOffset);
        Assert.NotEqual(before, resumed.Incarnation);
        var next = Specs.Batch("fresh", "q", 1, "q1");
        next.Incarnation = resumed.Incarnation;
        lists.Tell(next);
        Assert.Equal(2ul, (await ExpectMsgAsync<BatchAppended>()).NextOffset);
        Assert.Equal(["q0", "q1"], await this.ReadListAsync(lists, "fresh"));
    }

    /// <summary>
    /// A delete waits for a write in flight, and a read waits behind the delete; the write
    /// fails and the list stops: the read is answered by the list's next actor (it was left in
    /// the stopped actor's stash, a dead letter, and its reader waited for its time-out).
    /// </summary>
    [Fact]
    public async Task ListActor_should_hand_requests_waiting_for_a_delete_to_the_next_actor_when_a_write_fails()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "shaky", "a", 0, "a0");
        var gate = new WriteGate(failure: new IOException("disk unplugged"));
        await _journal.OnWrite.SetInterceptorAsync(gate);
        lists.Tell(Specs.Batch("shaky", "a", 1, "a1"));
        await gate.Entered.Task.WaitAsync(RemainingOrDefault);
        var deleter = CreateTestProbe();
        var reader = CreateTestProbe();
        lists.Tell(new DeleteList { List = "shaky" }, deleter.Ref);
        lists.Tell(new GetLength { List = "shaky" }, reader.Ref);
        await reader.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200)); // behind the delete
        await _journal.OnWrite.Pass();
        gate.Open();

        Assert.Equal(Refusal.Unavailable, (await ExpectMsgAsync<AppendRefused>()).Reason);
        Assert.Equal(Refusal.Unavailable, (await deleter.ExpectMsgAsync<RequestRefused>()).Reason);
        Assert.Equal(1ul, (await reader.ExpectMsgAsync<Length>()).Count);
    }

    [Fact]
    public async Task ListActor_should_refuse_a_failed_delete_keeping_the_list_whole_and_delete_it_when_asked_again()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "stubborn", "a", 0, "a0", "a1");
        await FaultyJournal.SetDeleteHook(Sys, (_, _) => throw new IOException("disk unplugged"));

        lists.Tell(new DeleteList { List = "stubborn" });

        var refused = await ExpectMsgAsync<RequestRefused>();
        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.Contains("disk unplugged", refused.Message);
        Assert.Contains("the list is loaded again from the journal: run delete again", refused.Message);

        // A delete is one step of the journal: it failed whole, and the list, loaded again
        // from the journal, is as it was, live and after a recovery.
        Assert.Equal(["a0", "a1"], await this.ReadListAsync(lists, "stubborn"));
        Assert.Equal(2ul, await this.ResumeAsync(lists, "stubborn", "a"));
        lists = await RestartAsync(lists, Durable);
        Assert.Equal(["a0", "a1"], await this.ReadListAsync(lists, "stubborn"));

        await FaultyJournal.SetDeleteHook(Sys, (_, _) => Task.CompletedTask);
        lists.Tell(new DeleteList { List = "stubborn" });
        Assert.True((await ExpectMsgAsync<ListDeleted>()).Existed);
        Assert.Equal(0, await RecoveredEventsAsync("list-stubborn"));
        lists = await RestartAsync(lists, Durable);
        Assert.Empty(await this.ReadListAsync(lists, "stubborn"));
        Assert.Equal(0ul, await this.ResumeAsync(lists, "stubborn", "a"));
    }

    /// <summary>
    /// The journal deletes the events, then the delete fails (a connection lost at the
    /// commit): the copy does not go on with the items the journal no longer holds. The list
    /// is loaded again from the journal: empty, producer a starts again from its first item,
    /// and what is appended next is there after a recovery too (a copy kept in memory would
    /// have answered a's next offset, 2, and journaled it after items that are gone).
    /// </summary>
    [Fact]
    public async Task ListActor_should_load_the_list_again_from_the_journal_after_a_delete_whose_outcome_is_unknown()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "doubt", "a", 0, "a0", "a1");
        await FaultyJournal.SetDeleteHook(Sys, (_, _) => throw new IOException("connection reset at the commit"), afterDelete: true);

        var reader = CreateTestProbe();
        lists.Tell(new DeleteList { List = "doubt" });
        lists.Tell(new GetLength { List = "doubt" }, reader.Ref); // waits for the delete
        var refused = await ExpectMsgAsync<RequestRefused>();
        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.Contains("connection reset at the commit", refused.Message);

        // The read that waited is answered by the list loaded again, not dropped with the copy.
        Assert.Equal(0ul, (await reader.ExpectMsgAsync<Length>()).Count);

        Assert.Empty(await this.ReadListAsync(lists, "doubt"));
        Assert.Equal(0ul, await this.ResumeAsync(lists, "doubt", "a"));
        await this.AppendAsync(lists, "doubt", "b", 0, "b0");
        lists = await RestartAsync(lists, Durable);
        Assert.Equal(["b0"], await this.ReadListAsync(lists, "doubt"));
        Assert.Equal(0ul, await this.ResumeAsync(lists, "doubt", "a"));
    }

    /// <summary>
    /// A producer's first batch is journaled but its acknowledgement is lost; the list is
    /// deleted; the producer sends the batch again. It names the incarnation it asked for
    /// before its first item, which the delete ended: refused, never applied to the list
    /// that starts again.
    /// </summary>
    [Fact]
    public async Task ListActor_should_refuse_a_producers_first_batch_resent_after_a_delete()
    {
        var lists = Start(Durable);
        lists.Tell(new GetResumePosition { List = "first", Producer = "p" });
        var position = await ExpectMsgAsync<ResumePosition>();
        Assert.NotEqual(0ul, position.Incarnation);
        var first = Specs.Batch("first", "p", 0, "p0", "p1");
        first.Incarnation = position.Incarnation;
        lists.Tell(first, CreateTestProbe().Ref); // its acknowledgement goes nowhere: lost
        lists.Tell(new DeleteList { List = "first" });
        Assert.True((await ExpectMsgAsync<ListDeleted>()).Existed);

        lists.Tell(first);

        var refused = await ExpectMsgAsync<AppendRefused>();
        Assert.Equal(Refusal.ListDeleted, refused.Reason);
        Assert.Empty(await this.ReadListAsync(lists, "first"));
        lists = await RestartAsync(lists, Durable);
        Assert.Empty(await this.ReadListAsync(lists, "first"));
        lists.Tell(first);
        Assert.Equal(Refusal.ListDeleted, (await ExpectMsgAsync<AppendRefused>()).Reason);
    }
}
