using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.TestKit;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Tests;

/// <summary>
/// Journaled lists against a journal and a snapshot store that fail, reject, stall and
/// drop on command (Akka.Persistence.TestKit, plus <see cref="FaultyJournal"/> for deletes):
/// deletes that stay deleted, failures answered instead of swallowed, readers that see only
/// durable items, and a recovery that refuses a hole.
/// </summary>
/// <remarks>
/// The only spec class besides <see cref="RecoverySpecs"/> with <c>serialize-messages = off</c>:
/// the TestKit's fault behaviours are objects handed to the journal (interceptors that
/// hold a write until the spec opens them) and must arrive as themselves, not as copies.
/// Every message of ours is verified through its serializer by the other specs.
/// </remarks>
public sealed class JournalFaultSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ListSettings Durable = Specs.Lists with
    {
        Durable = true,
        FollowWait = TimeSpan.FromMinutes(5),
    };

    /// <summary>1 KiB segments and a snapshot after every write: 50-item batches of 13 packed bytes fill a segment every 78 items.</summary>
    private static readonly ListSettings Segmented = Durable with { SnapshotMinBytes = 1, SegmentBytes = 1024 };

    private readonly ITestJournal _journal;
    private readonly ITestSnapshotStore _snapshots;
    private int _generation;

    public JournalFaultSpecs(ITestOutputHelper output)
        : base(Specs.Setup(Akka.Configuration.ConfigurationFactory.ParseString("akka.actor.serialize-messages = off")
            .WithFallback(FaultyJournal.Config)), "journal-fault-specs", output)
    {
        _journal = FaultyJournal.Of(Sys);
        _snapshots = FaultyJournal.SnapshotsOf(Sys);
    }

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

    [Fact]
    public async Task ListActor_should_wait_for_a_snapshot_save_in_flight_and_delete_it_too()
    {
        var settings = Durable with { SnapshotMinBytes = 1 };
        var lists = Start(settings);
        var save = new SnapshotGate();
        await _snapshots.OnSave.SetInterceptorAsync(save);

        await this.AppendAsync(lists, "snapped", "a", 0, "a0", "a1");
        await save.Entered.Task.WaitAsync(RemainingOrDefault);
        lists.Tell(new DeleteList { List = "snapped" });
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        save.Open();

        Assert.True((await ExpectMsgAsync<ListDeleted>()).Existed);
        Assert.Equal((0, 0), (await RecoveredEventsAsync("list-snapped"), await RecoveredSnapshotsAsync("list-snapped")));
        lists = await RestartAsync(lists, settings);
        Assert.Empty(await this.ReadListAsync(lists, "snapped"));
    }

    [Fact]
    public async Task ListActor_should_refuse_a_failed_delete_and_stay_usable_with_nothing_of_the_old_list()
    {
        var settings = Durable with { SnapshotMinBytes = 1 };
        var lists = Start(settings);
        await this.AppendAsync(lists, "stubborn", "a", 0, "a0", "a1");
        await AwaitAssertAsync(async () => Assert.Equal(1, await RecoveredSnapshotsAsync("list-stubborn")));
        await FaultyJournal.SetDeleteHook(Sys, (_, _) => throw new IOException("disk unplugged"));

        lists.Tell(new DeleteList { List = "stubborn" });

        var refused = await ExpectMsgAsync<RequestRefused>();
        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.Contains("disk unplugged", refused.Message);
        Assert.Contains("run delete again", refused.Message);

        // Usable at once, and the old items and positions are gone from the live list and
        // from any recovery of what the failed delete left behind.
        Assert.Equal(0ul, await this.ResumeAsync(lists, "stubborn", "a"));
        await this.AppendAsync(lists, "stubborn", "b", 0, "b0");
        Assert.Equal(["b0"], await this.ReadListAsync(lists, "stubborn"));
        lists = await RestartAsync(lists, settings);
        Assert.Equal(["b0"], await this.ReadListAsync(lists, "stubborn"));
        Assert.Equal(0ul, await this.ResumeAsync(lists, "stubborn", "a"));

        await FaultyJournal.SetDeleteHook(Sys, (_, _) => Task.CompletedTask);
        lists.Tell(new DeleteList { List = "stubborn" });
        Assert.True((await ExpectMsgAsync<ListDeleted>()).Existed);
        Assert.Equal(0, await RecoveredEventsAsync("list-stubborn"));
    }

    [Fact]
    public async Task ListActor_should_answer_unavailable_when_a_journal_write_fails_and_apply_the_resend()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "flaky", "a", 0, "a0");
        await _journal.OnWrite.Fail();

        lists.Tell(Specs.Batch("flaky", "a", 1, "a1", "a2"));

        var refused = await ExpectMsgAsync<AppendRefused>();
        Assert.Equal((Refusal.Unavailable, 1ul), (refused.Reason, refused.FirstOffset));
        await _journal.OnWrite.Pass();
        lists.Tell(Specs.Batch("flaky", "a", 1, "a1", "a2"));
        var ack = await ExpectMsgAsync<BatchAppended>();
        Assert.Equal((2u, 0u, 3ul), (ack.Applied, ack.Duplicates, ack.NextOffset));
        Assert.Equal(["a0", "a1", "a2"], await this.ReadListAsync(lists, "flaky"));
    }

    [Fact]
    public async Task ListActor_should_answer_unavailable_when_the_journal_rejects_a_write_and_apply_the_resend()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "picky", "a", 0, "a0");
        await _journal.OnWrite.Reject();

        lists.Tell(Specs.Batch("picky", "a", 1, "a1"));

        Assert.Equal(Refusal.Unavailable, (await ExpectMsgAsync<AppendRefused>()).Reason);
        await _journal.OnWrite.Pass();
        lists.Tell(Specs.Batch("picky", "a", 1, "a1"));
        var ack = await ExpectMsgAsync<BatchAppended>();
        Assert.Equal((1u, 0u), (ack.Applied, ack.Duplicates));
        lists = await RestartAsync(lists, Durable);
        Assert.Equal(["a0", "a1"], await this.ReadListAsync(lists, "picky"));
    }

    [Fact]
    public async Task ListsActor_should_answer_unavailable_while_a_list_cannot_be_recovered_and_serve_it_once_it_can()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "stored", "a", 0, "a0", "a1");
        lists = await RestartAsync(lists, Durable);
        await _journal.OnRecovery.Fail();

        lists.Tell(new GetLength { List = "stored" });
        lists.Tell(Specs.Batch("stored", "a", 2, "a2"));

        var refused = await ExpectMsgAsync<RequestRefused>();
        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.Contains("could not be loaded from the journal", refused.Message);
        Assert.Equal(Refusal.Unavailable, (await ExpectMsgAsync<AppendRefused>()).Reason);
        await _journal.OnRecovery.Pass();
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
    public async Task ListActor_should_snapshot_under_a_steady_stream_by_holding_new_batches_until_the_writes_in_flight_are_done()
    {
        // Due after every event; the journal holds every write until the gate opens.
        var saves = new SnapshotRecorder();
        await _snapshots.OnSave.SetInterceptorAsync(saves);
        var lists = Start(Durable with { SnapshotMinBytes = 1 });
        var gate = new WriteGate();
        await _journal.OnWrite.SetInterceptorAsync(gate);

        lists.Tell(Specs.Batch("steady", "a", 0, "a0"));
        await gate.Entered.Task.WaitAsync(RemainingOrDefault);
        lists.Tell(Specs.Batch("steady", "a", 1, "a1"));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        // a1 waited for a0's write: the snapshot is of event 1 (a0) alone, taken before a1 was
        // written. Without the wait, a1 would have been written meanwhile, and no snapshot
        // taken until both were done (under a steady stream: never).
        gate.Open();
        Assert.Equal(1ul, (await ExpectMsgAsync<BatchAppended>()).NextOffset);
        Assert.Equal(2ul, (await ExpectMsgAsync<BatchAppended>()).NextOffset);
        await AwaitConditionAsync(() => Task.FromResult(saves.SequenceNrs.Count > 0), TimeSpan.FromSeconds(3));
        Assert.Equal(1, saves.SequenceNrs.First());
        Assert.Equal(["a0", "a1"], await this.ReadListAsync(lists, "steady"));
    }

    [Fact]
    public async Task ListActor_should_answer_an_expired_follow_wait_without_items_still_being_written()
    {
        var lists = Start(Durable with { FollowWait = TimeSpan.FromMilliseconds(300) });
        await this.AppendAsync(lists, "waiting", "a", 0, "a0");
        var gate = new WriteGate();
        await _journal.OnWrite.SetInterceptorAsync(gate);
        var follower = CreateTestProbe();

        lists.Tell(new GetRange { List = "waiting", From = 1, Wait = true }, follower.Ref);
        lists.Tell(Specs.Batch("waiting", "a", 1, "a1"));
        await gate.Entered.Task.WaitAsync(RemainingOrDefault);

        var page = await follower.ExpectMsgAsync<ItemRange>(TimeSpan.FromSeconds(5));
        Assert.Equal((0u, 1ul), (page.Count, page.Length));
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
    public async Task ListActor_in_a_cluster_should_finish_its_writes_in_flight_before_it_stops_for_a_hand_over()
    {
        var sharded = Durable with { Sharded = true };
        var list = Sys.ActorOf(ListActor.Props("moving", sharded, new AggregatorMetrics()), "moving-1");
        Watch(list);
        list.Tell(Specs.Batch("moving", "a", 0, "a0"));
        await ExpectMsgAsync<BatchAppended>();
        var follower = CreateTestProbe();
        list.Tell(new GetRange { List = "moving", From = 1, Wait = true }, follower.Ref);
        var gate = new WriteGate();
        await _journal.OnWrite.SetInterceptorAsync(gate);

        list.Tell(Specs.Batch("moving", "a", 1, "a1", "a2"));
        await gate.Entered.Task.WaitAsync(RemainingOrDefault);
        list.Tell(ListsActor.StopList.Instance); // what the shard sends when the list moves or idles

        // The follower is answered (it asks again, wherever the list is next); the list waits for its write.
        Assert.Equal(1ul, (await follower.ExpectMsgAsync<ItemRange>()).Length);
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        gate.Open();
        Assert.Equal(3ul, (await ExpectMsgAsync<BatchAppended>()).NextOffset);
        await ExpectTerminatedAsync(list);

        await _journal.OnWrite.Pass();
        var next = Sys.ActorOf(ListActor.Props("moving", sharded, new AggregatorMetrics()), "moving-2");
        Assert.Equal(["a0", "a1", "a2"], await this.ReadListAsync(next, "moving"));
    }

    [Fact]
    public async Task ListActor_in_a_cluster_should_stop_at_once_when_nothing_is_in_flight()
    {
        var list = Sys.ActorOf(ListActor.Props("still", Durable with { Sharded = true }, new AggregatorMetrics()), "still-1");
        Watch(list);
        list.Tell(Specs.Batch("still", "a", 0, "a0"));
        await ExpectMsgAsync<BatchAppended>();

        list.Tell(ListsActor.StopList.Instance);

        await ExpectTerminatedAsync(list);
    }

    [Fact]
    public async Task ListActor_should_stop_when_its_segment_journal_fails_and_lose_no_acknowledged_item()
    {
        var lists = Start(Segmented);
        await _journal.OnWrite.SetInterceptorAsync(new FailSegments());
        var expected = new List<string>();

        // The second batch completes segment 0; its seal fails and the list stops.
        await EventFilter.Error(contains: "failed to store the item segments of list sealfail").ExpectOneAsync(async () =>
            expected.AddRange(await AppendBatchesAsync(lists, "sealfail", 0, 2)));

        await _journal.OnWrite.Pass();
        expected.AddRange(await AppendBatchesAsync(lists, "sealfail", 2, 2));
        Assert.Equal(expected, await this.ReadListAsync(lists, "sealfail"));
        await AwaitAssertAsync(async () => Assert.Equal(2, await RecoveredEventsAsync("segments-sealfail")));
        lists = await RestartAsync(lists, Segmented);
        Assert.Equal(expected, await this.ReadListAsync(lists, "sealfail"));
        Assert.Equal(200ul, await this.ResumeAsync(lists, "sealfail", "w"));
    }

    [Fact]
    public async Task ListsActor_should_answer_unavailable_while_a_lists_segments_cannot_be_loaded_and_serve_it_once_they_can()
    {
        var lists = Start(Segmented);
        var expected = await AppendUntilASnapshotNamesSegmentsAsync(lists, "segload");
        lists = await RestartAsync(lists, Segmented);
        await _journal.OnRecovery.SetInterceptorAsync(new FailSegments());

        lists.Tell(new GetLength { List = "segload" });

        var refused = await ExpectMsgAsync<RequestRefused>();
        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.Contains("could not be loaded from the journal: its item segments", refused.Message);
        await _journal.OnRecovery.Pass();
        Assert.Equal(expected, await this.ReadListAsync(lists, "segload"));
    }

    [Fact]
    public async Task ListActor_should_delete_its_segments_with_it_and_refuse_a_delete_that_could_not()
    {
        var lists = Start(Segmented);
        await AppendUntilASnapshotNamesSegmentsAsync(lists, "segdel");
        await FaultyJournal.SetDeleteHook(Sys, (id, _) =>
            id.StartsWith("segments-", StringComparison.Ordinal) ? throw new IOException("disk unplugged") : Task.CompletedTask);

        lists.Tell(new DeleteList { List = "segdel" });

        var refused = await ExpectMsgAsync<RequestRefused>();
        Assert.Contains("its item segments could not be deleted (disk unplugged)", refused.Message);
        Assert.Contains("run delete again", refused.Message);
        Assert.Empty(await this.ReadListAsync(lists, "segdel"));
        lists = await RestartAsync(lists, Segmented);
        Assert.Empty(await this.ReadListAsync(lists, "segdel"));
        Assert.Equal(0ul, await this.ResumeAsync(lists, "segdel", "w"));

        await FaultyJournal.SetDeleteHook(Sys, (_, _) => Task.CompletedTask);
        lists.Tell(new DeleteList { List = "segdel" });
        await ExpectMsgAsync<ListDeleted>();
        Assert.Equal((0, 0, 0), (await RecoveredEventsAsync("segments-segdel"), await RecoveredEventsAsync("list-segdel"),
            await RecoveredSnapshotsAsync("list-segdel")));
        lists = await RestartAsync(lists, Segmented);
        Assert.Empty(await this.ReadListAsync(lists, "segdel"));
    }

    /// <summary>Appends <paramref name="batches"/> batches of 50 items of producer "w", from batch <paramref name="first"/>; returns the items.</summary>
    private async Task<List<string>> AppendBatchesAsync(IActorRef lists, string list, int first, int batches)
    {
        var all = new List<string>();
        for (var batch = first; batch < first + batches; batch++)
        {
            var items = Enumerable.Range(batch * 50, 50).Select(i => $"item-{i:D7}").ToArray();
            await this.AppendAsync(lists, list, "w", (ulong)(batch * 50), items);
            all.AddRange(items);
        }

        return all;
    }

    /// <summary>Appends batches until the list's newest snapshot names a journaled segment (at most 10); returns the items.</summary>
    private async Task<List<string>> AppendUntilASnapshotNamesSegmentsAsync(IActorRef lists, string list)
    {
        var all = new List<string>();
        for (var batch = 0; batch < 10 && (await RecoverAsync("list-" + list)).SealedSegments == 0; batch++)
        {
            all.AddRange(await AppendBatchesAsync(lists, list, batch, 1));
        }

        Assert.True((await RecoverAsync("list-" + list)).SealedSegments > 0, "no snapshot named a segment after 10 batches");
        return all;
    }

    private IActorRef Start(ListSettings settings) => Sys.ActorOf(ListsActor.Props(settings), $"lists-{++_generation}");

    private Task<IActorRef> RestartAsync(IActorRef lists, ListSettings settings) =>
        this.RestartAsync(lists, ListsActor.Props(settings), $"lists-{++_generation}");

    /// <summary>How many events a recovery of <paramref name="persistenceId"/> replays now.</summary>
    private async Task<int> RecoveredEventsAsync(string persistenceId) => (await RecoverAsync(persistenceId)).Events;

    /// <summary>How many snapshots a recovery of <paramref name="persistenceId"/> is offered now (0 or 1).</summary>
    private async Task<int> RecoveredSnapshotsAsync(string persistenceId) => (await RecoverAsync(persistenceId)).Snapshots;

    private async Task<Recovery> RecoverAsync(string persistenceId)
    {
        var probe = CreateTestProbe();
        Sys.ActorOf(Props.Create(() => new RecoveryCounter(persistenceId, probe.Ref)));
        return await probe.ExpectMsgAsync<Recovery>();
    }

    /// <summary>What a recovery was given: events, snapshots, and the sealed segments the snapshot named.</summary>
    private sealed record Recovery(int Events, int Snapshots, uint SealedSegments);

    /// <summary>Fails every write or replay of a segment journal (persistence ids "segments-…").</summary>
    private sealed class FailSegments : IJournalInterceptor
    {
        public Task InterceptAsync(IPersistentRepresentation message) =>
            message.PersistenceId.StartsWith("segments-", StringComparison.Ordinal)
                ? throw new IOException("segment journal unplugged")
                : Task.CompletedTask;
    }

    /// <summary>Holds journal writes (from the <paramref name="blockFrom"/>-th event on) until opened.</summary>
    private sealed class WriteGate(int blockFrom = 1) : IJournalInterceptor
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _seen;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        public Task InterceptAsync(IPersistentRepresentation message)
        {
            if (Interlocked.Increment(ref _seen) < blockFrom)
            {
                return Task.CompletedTask;
            }

            Entered.TrySetResult();
            return _open.Task;
        }
    }

    /// <summary>Records the sequence number of every snapshot saved, in order.</summary>
    private sealed class SnapshotRecorder : ISnapshotStoreInterceptor
    {
        public System.Collections.Concurrent.ConcurrentQueue<long> SequenceNrs { get; } = new();

        public Task InterceptAsync(string persistenceId, SnapshotSelectionCriteria criteria)
        {
            SequenceNrs.Enqueue(criteria.MaxSequenceNr);
            return Task.CompletedTask;
        }
    }

    /// <summary>Holds snapshot saves until opened.</summary>
    private sealed class SnapshotGate : ISnapshotStoreInterceptor
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        public Task InterceptAsync(string persistenceId, SnapshotSelectionCriteria criteria)
        {
            Entered.TrySetResult();
            return _open.Task;
        }
    }

    /// <summary>Recovers a persistence id and reports how many events and snapshots it was given.</summary>
    private sealed class RecoveryCounter : ReceivePersistentActor
    {
        public RecoveryCounter(string persistenceId, IActorRef report)
        {
            PersistenceId = persistenceId;
            var (events, snapshots, sealedSegments) = (0, 0, 0u);
            Recover<SnapshotOffer>(offer =>
            {
                snapshots++;
                sealedSegments = (offer.Snapshot as ListSnapshotParts)?.Head.SealedSegments ?? 0;
            });
            Recover<RecoveryCompleted>(_ =>
            {
                report.Tell(new Recovery(events, snapshots, sealedSegments));
                Context.Stop(Self);
            });
            RecoverAny(_ => events++);
        }

        public override string PersistenceId { get; }
    }

    /// <summary>Journals whatever it is sent under a list's persistence id, answering with the sequence number.</summary>
    private sealed class RawWriter : ReceivePersistentActor
    {
        public RawWriter(string persistenceId)
        {
            PersistenceId = persistenceId;
            CommandAny(e => Persist(e, _ => Sender.Tell(LastSequenceNr)));
        }

        public override string PersistenceId { get; }
    }
}
