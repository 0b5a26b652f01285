using Protocol;
using Protocol.Messages;

namespace Aggregator.Tests;

/// <summary>
/// The append protocol as plain decisions of <see cref="ListState"/>, no actor involved:
/// duplicates, gaps, resume positions, incarnations and deletes, producer retention, the
/// limits, and the durable length readers see.
/// </summary>
public sealed class ListStateSpecs
{
    private const long Now = 1_800_000_000_000;
    private const ulong Fresh = 0x1234_0000_0001;
    private static readonly ListSettings Settings = Specs.Lists with { Durable = true, MaxProducersPerList = 2 };

    [Fact]
    public void ListState_should_apply_a_batch_from_the_producers_next_offset_and_acknowledge_its_end()
    {
        var state = new ListState();

        var write = Write(state, Specs.Batch("l", "p", 0, "a", "b"));

        Assert.Equal((0ul, 2u, "p"), (write.Event.FirstOffset, write.Event.Count, write.Event.Producer));
        Assert.Equal((2ul, 2u, 0u, Fresh), (write.Ack.NextOffset, write.Ack.Applied, write.Ack.Duplicates, write.Ack.Incarnation));
        Assert.Equal(Fresh, write.Event.Incarnation);
        Assert.Null(state.Apply(write.Event));
        Assert.Equal((2L, 0L, 2ul), (state.Length, state.DurableLength, state.NextOffset("p", Now, Settings.RetentionMs)));
    }

    [Fact]
    public void ListState_should_acknowledge_a_batch_it_holds_whole_as_duplicates_without_an_event()
    {
        var state = new ListState();
        state.Apply(Write(state, Specs.Batch("l", "p", 0, "a", "b", "c")).Event);

        var duplicate = Assert.IsType<AppendDecision.Duplicate>(state.Decide(Specs.Batch("l", "p", 1, "b", "c"), Settings, Now, Fresh));

        Assert.Equal((3ul, 0u, 2u), (duplicate.Ack.NextOffset, duplicate.Ack.Applied, duplicate.Ack.Duplicates));
    }

    [Fact]
    public void ListState_should_trim_the_items_it_holds_from_a_batch_that_overlaps_its_end()
    {
        var state = new ListState();
        state.Apply(Write(state, Specs.Batch("l", "p", 0, "a", "b")).Event);

        var write = Write(state, Specs.Batch("l", "p", 1, "b", "c", "d"));

        Assert.Equal((2ul, 2u), (write.Event.FirstOffset, write.Event.Count));
        Assert.Equal(["c", "d"], PackedItems.Decode(write.Event.Items.Span));
        Assert.Equal((4ul, 2u, 1u), (write.Ack.NextOffset, write.Ack.Applied, write.Ack.Duplicates));
    }

    [Fact]
    public void ListState_should_refuse_a_gap_naming_the_offset_to_resend_from()
    {
        var state = new ListState();
        state.Apply(Write(state, Specs.Batch("l", "p", 0, "a")).Event);

        var refusal = Refusal(state, Specs.Batch("l", "p", 3, "d"));

        Assert.Equal((Protocol.Messages.Refusal.Gap, 1ul), (refusal.Refusal.Reason, refusal.Refusal.ExpectedOffset));
        Assert.False(refusal.Warn);
    }

    [Fact]
    public void ListState_should_tell_a_producer_where_to_resume_and_give_a_new_list_its_incarnation_first()
    {
        var state = new ListState();

        var first = Assert.IsType<ResumeDecision.Answer>(state.Decide(Resume("p"), Settings, Now, Fresh));
        Assert.Equal((0ul, Fresh), (first.Position.NextOffset, first.Position.Incarnation));
        Assert.Equal(Fresh, first.Start!.Incarnation);
        state.Apply(first.Start);

        var again = Assert.IsType<ResumeDecision.Answer>(state.Decide(Resume("p"), Settings, Now, Fresh + 1));
        Assert.Null(again.Start);
        Assert.Equal(Fresh, again.Position.Incarnation);
        var batch = Specs.Batch("l", "p", 0, "a");
        batch.Incarnation = Fresh;
        Assert.Equal(Fresh, Write(state, batch).Event.Incarnation);
    }

    [Fact]
    public void ListState_should_refuse_a_batch_and_a_resume_for_an_incarnation_a_delete_ended()
    {
        var state = new ListState();
        var start = Assert.IsType<ResumeDecision.Answer>(state.Decide(Resume("p"), Settings, Now, Fresh)).Start!;
        state.Apply(start);
        state.Clear(); // the delete

        var batch = Specs.Batch("l", "p", 0, "a");
        batch.Incarnation = Fresh;
        Assert.Equal(Protocol.Messages.Refusal.ListDeleted, Refusal(state, batch).Refusal.Reason);
        var resume = Resume("p");
        resume.Incarnation = Fresh;
        Assert.Equal(Protocol.Messages.Refusal.ListDeleted,
            Assert.IsType<ResumeDecision.Refuse>(state.Decide(resume, Settings, Now, Fresh + 1)).Refusal.Reason);

        // A producer that starts again without an incarnation starts the next one.
        Assert.Equal(Fresh + 1, Write(state, Specs.Batch("l", "p", 0, "a"), Fresh + 1).Event.Incarnation);
    }

    [Fact]
    public void ListState_in_memory_should_accept_an_incarnation_another_process_made()
    {
        var inMemory = Settings with { Durable = false };
        var state = new ListState();
        var batch = Specs.Batch("l", "p", 0, "a");
        batch.Incarnation = ((ulong)(inMemory.Instance + 1) << 32) | 5; // made by an aggregator that restarted since

        Assert.IsType<AppendDecision.Write>(state.Decide(batch, inMemory, Now, Fresh));
    }

    [Fact]
    public void ListState_should_forget_a_producer_position_past_its_retention_and_say_when_it_last_appended()
    {
        var state = new ListState();
        state.Apply(Write(state, Specs.Batch("l", "p", 0, "a", "b")).Event);
        var later = Now + (long)Settings.ProducerRetention.TotalMilliseconds;

        var again = Write(state, Specs.Batch("l", "p", 0, "a", "b"), now: later);

        Assert.Equal((0ul, 2u, (long?)Now), (again.Event.FirstOffset, again.Ack.Applied, again.ExpiredLastAppend));
        Assert.Equal(0ul, state.NextOffset("p", later, Settings.RetentionMs));
        Assert.Equal(2ul, state.NextOffset("p", later - 1, Settings.RetentionMs));
    }

    [Fact]
    public void ListState_should_refuse_a_producer_past_the_limit_unless_an_expired_position_can_go()
    {
        var state = new ListState();
        state.Apply(Write(state, Specs.Batch("l", "a", 0, "x")).Event);
        state.Apply(Write(state, Specs.Batch("l", "b", 0, "x"), now: Now + 1000).Event);

        var refused = Refusal(state, Specs.Batch("l", "c", 0, "x"), now: Now + 2000);
        Assert.Equal(Protocol.Messages.Refusal.TooManyProducers, refused.Refusal.Reason);
        Assert.True(refused.Warn);

        var afterRetention = Now + (long)Settings.ProducerRetention.TotalMilliseconds + 500;
        var write = Write(state, Specs.Batch("l", "c", 0, "x"), now: afterRetention);
        Assert.True(write.PurgeFirst);
        Assert.Equal(1, state.PurgeExpired(afterRetention, Settings.RetentionMs));
        state.Apply(write.Event);
        Assert.Equal(2, state.ProducerCount);
    }

    [Theory]
    [InlineData("bad/name", Protocol.Messages.Refusal.InvalidName)]
    [InlineData("big-batch", Protocol.Messages.Refusal.BatchTooLarge)]
    [InlineData("big-item", Protocol.Messages.Refusal.ItemTooLarge)]
    [InlineData("latin1", Protocol.Messages.Refusal.InvalidUtf8)]
    [InlineData("short", Protocol.Messages.Refusal.MalformedBatch)]
    public void ListState_should_refuse_what_breaks_a_limit_or_the_format_and_change_nothing(string problem, Refusal reason)
    {
        var state = new ListState();
        var batch = problem switch
        {
            "bad/name" => Specs.Batch("l", "bad/name", 0, "a"),
            "big-batch" => Specs.Batch("l", "p", 0, Enumerable.Repeat(new string('x', 1000), Settings.MaxBatchBytes / 1000 + 1).ToArray()),
            "big-item" => Specs.Batch("l", "p", 0, new string('x', Settings.MaxItemBytes + 1)),
            "latin1" => new AppendBatch { List = "l", Producer = "p", Count = 1, Items = Google.Protobuf.ByteString.CopyFrom(2, 0x63, 0xE9) },
            _ => new AppendBatch { List = "l", Producer = "p", Count = 2, Items = PackedItems.Encode(["only one"]) },
        };

        var refused = Refusal(state, batch);

        Assert.Equal(reason, refused.Refusal.Reason);
        Assert.True(refused.Warn);
        Assert.Equal((0L, 0, 0ul), (state.Length, state.ProducerCount, state.Incarnation));
    }

    [Fact]
    public void ListState_should_show_readers_only_durable_items()
    {
        var state = new ListState();
        state.Apply(Write(state, Specs.Batch("l", "p", 0, "a", "b")).Event);
        state.Apply(Write(state, Specs.Batch("l", "p", 2, "c")).Event);

        Assert.Equal(0, state.Read(0, 0, 1000).Count);
        state.MarkDurable(2);
        var (packed, count) = state.Read(0, 0, 1000);
        Assert.Equal(["a", "b"], PackedItems.Decode(packed));
        Assert.Equal(2, count);
        state.MarkDurable(99);
        Assert.Equal(3L, state.DurableLength);
    }

    [Fact]
    public void ListState_should_find_an_event_that_does_not_continue_its_producer_when_replaying()
    {
        var state = new ListState();
        state.Apply(new ItemsAppended { Producer = "p", FirstOffset = 0, Count = 1, Items = PackedItems.Encode(["a"]), Incarnation = 1 });

        var hole = state.Apply(new ItemsAppended { Producer = "p", FirstOffset = 5, Count = 1, Items = PackedItems.Encode(["f"]), Incarnation = 1 });

        Assert.Equal(1ul, hole);
        Assert.Equal(1L, state.Length);
    }

    [Fact]
    public void ListState_should_hold_a_producer_id_for_a_session_only_while_the_producer_has_a_position()
    {
        var state = new ListState();
        state.Claim("p", 7); // a run that asks before it appended: nothing to hold yet
        Assert.False(state.HeldByOther("p", 8));

        state.Apply(Write(state, Specs.Batch("l", "p", 0, "a")).Event);
        state.Claim("p", 7);
        Assert.Equal((false, true, false), (state.HeldByOther("p", 7), state.HeldByOther("p", 8), state.HeldByOther("p", 0)));
        var batch = Specs.Batch("l", "p", 1, "b");
        batch.Session = 8;
        Assert.Equal(Protocol.Messages.Refusal.ProducerInUse, Refusal(state, batch).Refusal.Reason);

        state.PurgeExpired(Now + Settings.RetentionMs, Settings.RetentionMs);
        Assert.False(state.HeldByOther("p", 8));
    }

    [Fact]
    public void ListState_should_let_the_first_session_hold_a_producer_id_in_a_list_loaded_again()
    {
        var written = new ListState();
        var appended = Write(written, Specs.Batch("l", "p", 0, "a")).Event;
        var loaded = new ListState();
        loaded.Apply(appended); // replayed: events carry no session

        Assert.False(loaded.HeldByOther("p", 8));
        loaded.Claim("p", 8);
        Assert.True(loaded.HeldByOther("p", 7));
    }

    private static GetResumePosition Resume(string producer) => new() { List = "l", Producer = producer };

    private static AppendDecision.Write Write(ListState state, AppendBatch batch, ulong fresh = Fresh, long now = Now) =>
        Assert.IsType<AppendDecision.Write>(state.Decide(batch, Settings, now, fresh));

    private static AppendDecision.Refuse Refusal(ListState state, AppendBatch batch, long now = Now) =>
        Assert.IsType<AppendDecision.Refuse>(state.Decide(batch, Settings, now, Fresh));
}
