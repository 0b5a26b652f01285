using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Google.Protobuf;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator;

/// <summary>
/// Owns one list: applies appends exactly once per producer offset, journals them,
/// answers reads page by page and followers through <see cref="Followers"/>. The append
/// protocol lives here, in <see cref="Append"/>. Four behaviours: <see cref="LoadingSegments"/>
/// (after its own recovery), <see cref="Ready"/>, <see cref="Deleting"/> and
/// <see cref="Broken"/> (a journal with a hole).
/// </summary>
/// <remarks>
/// Durability: an append is applied to the state at once (so the next batch is checked
/// against it) and journaled with <c>PersistAsync</c>; its acknowledgement is sent from
/// the persist callback, which also moves the durable length. Batches that arrive while a
/// write is in flight are written together (Akka's journal batching). Reads (get, count,
/// follow) see items up to the durable length only, never an item that a crash could
/// still take back; replies to producers about their positions go through
/// <c>DeferAsync</c>, after everything applied before them is durable.
///
/// Snapshots are incremental: each sealed segment of items is journaled once by the
/// <see cref="SegmentStore"/> child as soon as its items are durable, and a snapshot holds
/// only the number of segments journaled, the items after them and the producer positions.
/// Recovery reads the snapshot and the events after it, then takes the segments the
/// snapshot names from the child, which replays them meanwhile.
/// </remarks>
public sealed class ListActor : ReceivePersistentActor, IWithTimers
{
    private readonly string _name;
    private readonly ListSettings _settings;
    private readonly AggregatorMetrics _metrics;
    private readonly TimeProvider _clock;
    private readonly ListState _state;
    private readonly Followers _followers = new();
    private readonly Queue<PendingWrite> _pending = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Action<ItemsAppended> _persisted;
    private readonly Func<ulong, uint, ItemRange> _page;
    private readonly IActorRef? _segments;
    private long _durableLength;

    /// <summary>Sealed segments the segment journal holds (from the first), and the count a seal in flight brings it to (0: none).</summary>
    private int _segmentsJournaled;
    private int _sealingTo;

    /// <summary>The segment journal held nothing at recovery (a delete of a list never journaled can skip it).</summary>
    private bool _segmentJournalEmpty = true;
    private long _bytesSinceSnapshot;
    private int _snapshotsInFlight;
    private int _cleanupsInFlight;
    private long _snapshotStarted;
    private long _snapshotBytes;
    private ListSnapshot? _snapshotHead;
    private Deletion? _deletion;
    private string? _hole;
    private bool _stopping;
    private int _deferred;

    /// <summary>A snapshot is due while writes are in flight: new batches wait in the stash.</summary>
    private bool _holdingForSnapshot;

    public ListActor(string name, ListSettings settings, AggregatorMetrics metrics, TimeProvider? clock = null)
    {
        _name = name;
        _settings = settings;
        _metrics = metrics;
        _clock = clock ?? TimeProvider.System;
        _state = new ListState(settings.SegmentBytes);
        _persisted = Persisted;
        _page = Page;
        PersistenceId = PersistenceIdOf(name);
        if (settings.Durable)
        {
            _segments = Context.Watch(Context.ActorOf(SegmentStore.Props(name), "segments"));
        }

        var recovery = System.Diagnostics.Stopwatch.StartNew();
        long snapshotAt = 0;
        Recover<SnapshotOffer>(offer =>
        {
            // A store that serializes gives back a ListSnapshot; one that keeps objects (in memory), what was saved.
            _state.Restore(offer.Snapshot as ListSnapshot ?? ((ListSnapshotParts)offer.Snapshot).ToListSnapshot());
            snapshotAt = offer.Metadata.SequenceNr;
        });
        Recover<ItemsAppended>(Replay);
        Recover<ListCleared>(_ =>
        {
            _state.Clear();
            _hole = null;
            _bytesSinceSnapshot = 0;
        });
        Recover<RecoveryCompleted>(_ =>
        {
            if (_segments is not null)
            {
                Become(() => LoadingSegments(snapshotAt, recovery));
            }
            else
            {
                Recovered(snapshotAt, recovery.Elapsed);
            }
        });
        Ready();
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string name, ListSettings settings, AggregatorMetrics metrics, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ListActor(name, settings, metrics, clock));

    /// <summary>The journal's id of a list: the same in every version and every mode.</summary>
    public static string PersistenceIdOf(string list) => "list-" + list;

    private long NowMs => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private long RetentionMs => (long)_settings.ProducerRetention.TotalMilliseconds;

    private void Ready()
    {
        Command<AppendBatch>(Append);
        Command<GetResumePosition>(Resume);
        Command<GetLength>(_ => Sender.Tell(new Length { List = _name, Count = (ulong)_durableLength }));
        Command<GetRange>(Read);
        Command<DeleteList>(StartDelete);
        Command<FollowWaitTick>(_ => ExpireFollowers());
        Command<IdleCheck>(_ => CheckIdle());
        Command<ListsActor.StopList>(_ => StopWhenEmpty());
        Command<GetListStats>(_ => ReplyStats());
        SnapshotHandlers();
    }

    /// <summary>
    /// Recovered but for the sealed segments the snapshot names, which the segment journal
    /// replays meanwhile: everything waits in the stash until they are in front of the items.
    /// </summary>
    private void LoadingSegments(long snapshotAt, System.Diagnostics.Stopwatch recovery)
    {
        Command<SegmentStore.Recovered>(recovered =>
        {
            var journaled = _state.Missing.Segments;
            _segmentJournalEmpty = recovered.Segments.Count == 0;
            if (_state.AttachSegments(recovered.Segments) is { } problem)
            {
                _hole = $"list '{_name}' cannot be recovered: {problem} (persistence id '{SegmentStore.PersistenceIdOf(_name)}'); the list refuses every request until it is deleted";
            }
            else
            {
                _segmentsJournaled = journaled;
            }

            Become(Ready);
            Recovered(snapshotAt, recovery.Elapsed);
            Stash.UnstashAll();
        });
        Command<Terminated>(t => t.ActorRef.Equals(_segments), _ =>
        {
            _log.Error("Loading the item segments of list {0} from the journal failed: the list stops", _name);
            if (!_settings.Sharded)
            {
                Context.Parent.Tell(new ListsActor.ListRecoveryFailed("its item segments could not be loaded from the journal"));
            }

            Context.Stop(Self);
        });
        CommandAny(_ => Stash.Stash());
    }

    /// <summary>The journal holds an event that does not continue its producer: refuse everything but a delete.</summary>
    private void Broken()
    {
        Command<DeleteList>(StartDelete);
        Command<AppendBatch>(m => Sender.Tell(RefusedAs(Refusal.ListBroken, new AppendRefused
        {
            List = _name,
            Producer = m.Producer,
            FirstOffset = m.FirstOffset,
            Reason = Refusal.ListBroken,
            Message = _hole,
        })));
        Command<GetResumePosition>(_ => RefuseBroken());
        Command<GetLength>(_ => RefuseBroken());
        Command<GetRange>(_ => RefuseBroken());
        Command<ListsActor.StopList>(_ =>
        {
            if (_settings.Sharded)
            {
                HandOver();
            }
            else
            {
                Context.Parent.Tell(ListsActor.PassivationCancelled.Instance);
            }
        });
        Command<GetListStats>(_ => ReplyStats());
        SnapshotHandlers();
    }

    private void ReplyStats() => Sender.Tell(new ListStats
    {
        List = _name,
        Length = (ulong)_durableLength,
        Producers = (uint)_state.ProducerCount,
        Followers = (uint)_followers.Count,
        Version = ProductInfo.Version,
    });

    /// <summary>
    /// A delete in progress: the <see cref="ListCleared"/> marker is journaled after every
    /// write in flight, snapshot saves and clean-ups in flight are awaited, then every
    /// snapshot and every event is deleted. Other requests wait in the stash.
    /// </summary>
    private void Deleting()
    {
        Command<DeleteList>(_ => _deletion!.Requesters.Add(Sender));
        Command<SaveSnapshotSuccess>(_ => SnapshotDoneWhileDeleting());
        Command<SaveSnapshotFailure>(_ => SnapshotDoneWhileDeleting());
        Command<DeleteSnapshotsSuccess>(_ => DeletionReply(success: true, snapshots: true, null));
        Command<DeleteSnapshotsFailure>(f => DeletionReply(success: false, snapshots: true, f.Cause));
        Command<DeleteMessagesSuccess>(_ => DeletionReply(success: true, snapshots: false, null));
        Command<DeleteMessagesFailure>(f => DeletionReply(success: false, snapshots: false, f.Cause));
        Command<SegmentStore.Sealed>(_ =>
        {
            _sealingTo = 0;
            ContinueDelete();
        });
        Command<SegmentStore.Deleted>(SegmentsDeleted);
        Command<Terminated>(t => t.ActorRef.Equals(_segments), _ => SegmentJournalFailed());
        CommandAny(_ => Stash.Stash());
    }

    private void SnapshotHandlers()
    {
        Command<SegmentStore.Sealed>(sealedTo =>
        {
            _segmentsJournaled = sealedTo.Count;
            _sealingTo = 0;
            MaybeSeal();
            StopIfDrained();
        });
        Command<Terminated>(t => t.ActorRef.Equals(_segments), _ => SegmentJournalFailed());
        Command<SaveSnapshotSuccess>(SnapshotSaved);
        Command<SaveSnapshotFailure>(f =>
        {
            _snapshotsInFlight--;
            _log.Warning("Snapshot of list {0} failed: {1}", _name, f.Cause.Message);
            StopIfDrained();
        });
        Command<DeleteSnapshotsSuccess>(_ => CleanupDone());
        Command<DeleteMessagesSuccess>(_ => CleanupDone());
        Command<DeleteSnapshotsFailure>(f => CleanupFailed(f.Cause));
        Command<DeleteMessagesFailure>(f => CleanupFailed(f.Cause));
    }

    private void Replay(ItemsAppended appended)
    {
        if (_hole is not null)
        {
            return; // nothing after a hole can be trusted, unless a delete marker follows
        }

        if (_state.Apply(appended) is { } next)
        {
            _hole = $"list '{_name}' cannot be recovered: event {LastSequenceNr} of persistence id '{PersistenceId}' starts producer '{appended.Producer}' at offset {appended.FirstOffset}, but its events before end at offset {next}; the list refuses every request until it is deleted";
            return;
        }

        _bytesSinceSnapshot += appended.Items.Length;
    }

    private void Recovered(long snapshotAt, TimeSpan elapsed)
    {
        _durableLength = _state.Length;
        _metrics.Recovered(elapsed);
        if (_hole is not null)
        {
            _log.Error("{0}", _hole);
            Become(Broken);
        }
        else if (!_state.IsEmpty)
        {
            _log.Info("Recovered list {0}: {1} items, {2} producers, up to event {3} ({4}) in {5} ms",
                _name, _state.Length, _state.ProducerCount, LastSequenceNr,
                snapshotAt > 0 ? $"snapshot at event {snapshotAt} naming {_segmentsJournaled} journaled segments, + {LastSequenceNr - snapshotAt} events" : "events only",
                (long)elapsed.TotalMilliseconds);
        }

        if (!_settings.Sharded)
        {
            Context.Parent.Tell(ListsActor.ListRecovered.Instance);
        }

        ArmIdleCheck();
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Error(reason, "Loading list {0} from the journal failed", _name);
        if (!_settings.Sharded)
        {
            Context.Parent.Tell(new ListsActor.ListRecoveryFailed(reason.GetBaseException().Message));
        }
    }

    private void Append(AppendBatch batch)
    {
        if (_holdingForSnapshot || (_settings.Durable && _pending.Count > 0 && SnapshotDue))
        {
            // A snapshot is of durable state only, so it waits for the writes in flight; under
            // a steady stream there always are some. New batches wait (one journal round trip
            // at most) so that the snapshot is taken, instead of never.
            _holdingForSnapshot = true;
            Stash.Stash();
            return;
        }

        if (Names.Check(batch.Producer, "producer id") is { } badProducer)
        {
            Refuse(batch, Refusal.InvalidName, badProducer);
            return;
        }

        if (batch.Items.Length > _settings.MaxBatchBytes)
        {
            Refuse(batch, Refusal.BatchTooLarge,
                $"the batch is {batch.Items.Length} bytes; the limit is {_settings.MaxBatchBytes} (max-batch-bytes)");
            return;
        }

        if (_settings.WasDeleted(batch.Incarnation, _state.Incarnation))
        {
            Refuse(batch, Refusal.ListDeleted, $"list '{_name}' was deleted");
            return;
        }

        var now = NowMs;
        if (!_state.KnowsProducer(batch.Producer) && _state.ProducerCount >= _settings.MaxProducersPerList
            && PurgeExpired(now) == 0)
        {
            Refuse(batch, Refusal.TooManyProducers,
                $"list '{_name}' already has {_state.ProducerCount} producers; the limit is {_settings.MaxProducersPerList}");
            return;
        }

        var next = _state.NextOffset(batch.Producer, now, RetentionMs);
        if (batch.FirstOffset > next)
        {
            Refuse(batch, Refusal.Gap, $"offset {batch.FirstOffset} leaves a gap: resend from {next}");
            return;
        }

        var end = batch.FirstOffset + batch.Count;
        if (end <= next)
        {
            _metrics.Appended(0, batch.Count);
            Reply(Acknowledgement(batch, next, applied: 0, duplicates: batch.Count, (ulong)_state.Length));
            return;
        }

        if (PackedItems.Validate(batch.Items.Span, batch.Count, _settings.MaxItemBytes) is { } invalid)
        {
            var reason = invalid.Problem switch
            {
                PackedItemsProblem.TooLarge => Refusal.ItemTooLarge,
                PackedItemsProblem.InvalidUtf8 => Refusal.InvalidUtf8,
                _ => Refusal.MalformedBatch,
            };
            Refuse(batch, reason, $"offset {batch.FirstOffset + invalid.Index}: {invalid.Message}");
            return;
        }

        if (next == 0)
        {
            LogIfExpired(batch.Producer, now);
        }

        var skip = (uint)(next - batch.FirstOffset);
        var items = skip == 0
            ? batch.Items
            : ByteString.CopyFrom(batch.Items.Span[PackedItems.SkipItems(batch.Items.Span, skip)..]);
        var appended = new ItemsAppended
        {
            Producer = batch.Producer,
            FirstOffset = next,
            Count = batch.Count - skip,
            Items = items,
            Incarnation = _state.Incarnation != 0 ? _state.Incarnation : _settings.NewIncarnation(),
            UnixMs = now,
        };
        _state.Apply(appended);
        var ack = Acknowledgement(batch, end, appended.Count, skip, length: 0);
        if (!_settings.Durable)
        {
            _durableLength = _state.Length;
            ack.Length = (ulong)_durableLength;
            _metrics.Appended(ack.Applied, ack.Duplicates);
            Sender.Tell(ack);
            AnswerFollowers();
            return;
        }

        _pending.Enqueue(new PendingWrite(Sender, ack, System.Diagnostics.Stopwatch.GetTimestamp()));
        _bytesSinceSnapshot += appended.Items.Length;
        PersistAsync(appended, _persisted);
    }

    /// <summary>An event is journaled: it is durable, its batch is acknowledged, followers may see it.</summary>
    private void Persisted(ItemsAppended appended)
    {
        var write = _pending.Dequeue();
        _durableLength += appended.Count;
        write.Ack.Length = (ulong)_durableLength;
        write.Sender.Tell(write.Ack);
        _metrics.JournalWrite(System.Diagnostics.Stopwatch.GetElapsedTime(write.Started));
        _metrics.Appended(write.Ack.Applied, write.Ack.Duplicates);
        AnswerFollowers();
        MaybeSeal();
        MaybeSnapshot();
        StopIfDrained();
    }

    /// <summary>Sealed segments whose items are all durable go to the segment journal, one seal in flight at a time.</summary>
    private void MaybeSeal()
    {
        if (_segments is null || _sealingTo != 0)
        {
            return;
        }

        var sealable = _state.Items.SealedSegmentsBelow(_durableLength, _segmentsJournaled);
        if (sealable > _segmentsJournaled)
        {
            var events = new SegmentSealed[sealable - _segmentsJournaled];
            for (var i = 0; i < events.Length; i++)
            {
                events[i] = SegmentStore.EventOf(_state.Items, _segmentsJournaled + i);
            }

            _sealingTo = sealable;
            _segments.Tell(new SegmentStore.Seal(events));
        }
    }

    /// <summary>The segment journal could not write: as for a failed write of the list's own journal, the list stops and is loaded again.</summary>
    private void SegmentJournalFailed()
    {
        _log.Error("The journal failed to store the item segments of list {0}; the list stops and is loaded again on its next request", _name);
        TellParentStopping();
        RefuseInFlight("the journal failed to store the list's item segments");
        Context.Stop(Self);
    }

    private BatchAppended Acknowledgement(AppendBatch batch, ulong next, uint applied, uint duplicates, ulong length) =>
        new()
        {
            List = _name,
            Producer = batch.Producer,
            FirstOffset = batch.FirstOffset,
            NextOffset = next,
            Applied = applied,
            Duplicates = duplicates,
            Length = length,
            Incarnation = _state.Incarnation,
        };

    private void Resume(GetResumePosition request)
    {
        if (Names.Check(request.Producer, "producer id") is { } badProducer)
        {
            Sender.Tell(new RequestRefused { List = _name, Reason = Refusal.InvalidName, Message = badProducer });
            return;
        }

        if (_settings.WasDeleted(request.Incarnation, _state.Incarnation))
        {
            Sender.Tell(new RequestRefused { List = _name, Reason = Refusal.ListDeleted, Message = $"list '{_name}' was deleted" });
            return;
        }

        var now = NowMs;
        var next = _state.NextOffset(request.Producer, now, RetentionMs);
        if (next == 0)
        {
            LogIfExpired(request.Producer, now);
        }

        Reply(new ResumePosition
        {
            List = _name,
            Producer = request.Producer,
            NextOffset = next,
            Length = (ulong)_state.Length,
            Incarnation = _state.Incarnation,
        });
    }

    private void LogIfExpired(string producer, long now)
    {
        if (_state.HasExpired(producer, now, RetentionMs, out var lastAppend))
        {
            _log.Info(
                "Producer {0} of list {1} is back after its position expired (last append {2:u}, producer-retention {3}): it starts again from offset 0, and a re-run of old input adds its items again",
                producer, _name, DateTimeOffset.FromUnixTimeMilliseconds(lastAppend), _settings.ProducerRetention);
        }
    }

    /// <summary>Answers the sender once everything applied so far is durable (at once in memory).</summary>
    private void Reply(object message)
    {
        var sender = Sender;
        _deferred++;
        DeferAsync(message, m =>
        {
            _deferred--;
            sender.Tell(m);
            StopIfDrained();
        });
    }

    private void Refuse(AppendBatch batch, Refusal reason, string message)
    {
        _metrics.Refused(reason);
        if (reason is not (Refusal.Gap or Refusal.ListDeleted))
        {
            _log.Warning("Refused a batch for list {0} from producer {1} at offset {2}: {3}",
                _name, batch.Producer, batch.FirstOffset, message);
        }

        Reply(new AppendRefused
        {
            List = _name,
            Producer = batch.Producer,
            FirstOffset = batch.FirstOffset,
            ExpectedOffset = _state.NextOffset(batch.Producer, NowMs, RetentionMs),
            Reason = reason,
            Message = message,
            Incarnation = _state.Incarnation,
        });
    }

    private void RefuseBroken() => Sender.Tell(RefusedAs(Refusal.ListBroken, new RequestRefused { List = _name, Reason = Refusal.ListBroken, Message = _hole }));

    private T RefusedAs<T>(Refusal reason, T refusal)
    {
        _metrics.Refused(reason);
        return refusal;
    }

    /// <summary>Followers whose position the durable length passed get their page.</summary>
    private void AnswerFollowers()
    {
        if (_followers.Count > 0)
        {
            var before = _followers.Count;
            _followers.AnswerBelow(_durableLength, _page);
            _metrics.Followers(_followers.Count - before);
            StopExpiryWhenIdle();
        }
    }

    private void Read(GetRange request)
    {
        if (request.Wait && request.From == (ulong)_durableLength)
        {
            _followers.Add(Sender, request.From, request.MaxCount, _clock.GetUtcNow().UtcDateTime + _settings.FollowWait);
            _metrics.Followers(1);
            if (!Timers.IsTimerActive(nameof(FollowWaitTick)))
            {
                Timers.StartPeriodicTimer(nameof(FollowWaitTick), FollowWaitTick.Instance,
                    TimeSpan.FromTicks(Math.Max(_settings.FollowWait.Ticks / 4, TimeSpan.TicksPerMillisecond * 10)));
            }

            return;
        }

        Sender.Tell(Page(request.From, request.MaxCount));
    }

    /// <summary>Up to <paramref name="maxCount"/> (0: no limit) durable items from <paramref name="from"/>, within a page.</summary>
    private ItemRange Page(ulong from, uint maxCount)
    {
        var durable = (ulong)_durableLength;
        var (packed, count) = from < durable
            ? _state.Items.Read((long)from, (int)Math.Min(maxCount == 0 ? int.MaxValue : maxCount, Math.Min(durable - from, int.MaxValue)),
                _settings.PageMaxBytes)
            : ([], 0);
        return new ItemRange
        {
            List = _name,
            From = from,
            Count = (uint)count,
            Items = UnsafeByteOperations.UnsafeWrap(packed),
            Length = durable,
        };
    }

    private void ExpireFollowers()
    {
        var before = _followers.Count;
        _followers.Expire(_clock.GetUtcNow().UtcDateTime, _page);
        _metrics.Followers(_followers.Count - before);
        StopExpiryWhenIdle();
        ArmIdleCheck();
    }

    private void StopExpiryWhenIdle()
    {
        if (_followers.Count == 0)
        {
            Timers.Cancel(nameof(FollowWaitTick));
        }
    }

    private int PurgeExpired(long now)
    {
        var purged = _state.PurgeExpired(now, RetentionMs);
        if (purged > 0)
        {
            _log.Info("List {0} forgot {1} producer positions older than producer-retention ({2})", _name, purged, _settings.ProducerRetention);
        }

        return purged;
    }

    private void MaybeSnapshot()
    {
        // A list that is stopping leaves its snapshot to its next actor: the hand-over waits for nothing it can skip.
        if (_pending.Count == 0 && SnapshotDue)
        {
            _bytesSinceSnapshot = 0;
            PurgeExpired(NowMs);
            _snapshotsInFlight++;
            _snapshotStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            var snapshot = _state.ToSnapshot(_segmentsJournaled);
            _snapshotBytes = snapshot.Head.CalculateSize() + snapshot.Items.Sum(run => (long)run.Length);
            _snapshotHead = snapshot.Head;
            SaveSnapshot(snapshot);
        }

        if (_pending.Count == 0)
        {
            ReleaseHeld();
        }
    }

    /// <summary>Whether the events since the last snapshot are enough for a new one (none while stopping, or while one is saved).</summary>
    private bool SnapshotDue => _snapshotsInFlight == 0 && !_stopping && _bytesSinceSnapshot >= _settings.SnapshotMinBytes;

    /// <summary>Batches held for a snapshot go on, in their order.</summary>
    private void ReleaseHeld()
    {
        if (_holdingForSnapshot)
        {
            _holdingForSnapshot = false;
            Stash.UnstashAll();
        }
    }

    private void SnapshotSaved(SaveSnapshotSuccess saved)
    {
        _snapshotsInFlight--;
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(_snapshotStarted);
        _metrics.Snapshot(elapsed, _snapshotBytes);
        var head = _snapshotHead!;
        _log.Info($"Saved a snapshot of list {_name} at event {saved.Metadata.SequenceNr}: {head.Count} items, {head.SealedItems} of them in {head.SealedSegments} journaled segments; {_snapshotBytes} bytes in {(long)elapsed.TotalMilliseconds} ms");

        // Recovery needs only the newest snapshot and the events after it. (A criteria of 0
        // would mean "every snapshot" to some stores: there is nothing older than event 1.)
        if (saved.Metadata.SequenceNr > 1)
        {
            _cleanupsInFlight++;
            DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
        }

        _cleanupsInFlight++;
        DeleteMessages(saved.Metadata.SequenceNr);

        // Events written while it was saved may already call for the next one: a list that
        // goes quiet after a burst should not keep them all for its next recovery.
        MaybeSnapshot();
        StopIfDrained();
    }

    private void CleanupDone()
    {
        _cleanupsInFlight--;
        StopIfDrained();
    }

    private void CleanupFailed(Exception cause)
    {
        _cleanupsInFlight--;
        StopIfDrained();
        _log.Warning("Cleaning up old events or snapshots of list {0} failed (recovery reads more until the next snapshot): {1}",
            _name, cause.Message);
    }

    private void StartDelete(DeleteList request)
    {
        _deletion = new Deletion(!_state.IsEmpty || _hole is not null);
        _deletion.Requesters.Add(Sender);
        if (!_settings.Durable || (LastSequenceNr == 0 && _pending.Count == 0 && _segmentJournalEmpty))
        {
            // Nothing was ever journaled: nothing to delete but the state.
            _state.Clear();
            _durableLength = 0;
            Deleted();
            return;
        }

        Become(Deleting);

        // Journaled after every write still in flight: once it is, recovery can bring back
        // nothing from before it, whatever part of the deletion below fails.
        PersistAsync(new ListCleared { Incarnation = _state.Incarnation }, _ => Cleared());
    }

    private void Cleared()
    {
        _deletion!.ClearedAt = LastSequenceNr;
        _state.Clear();
        _durableLength = 0;
        _bytesSinceSnapshot = 0;
        _segmentsJournaled = 0;
        _hole = null;
        ContinueDelete();
    }

    private void SnapshotDoneWhileDeleting()
    {
        _snapshotsInFlight--;
        ContinueDelete();
    }

    /// <summary>Once the marker is journaled and no snapshot save, seal or clean-up is in flight, deletes snapshots, then events, then segments.</summary>
    private void ContinueDelete()
    {
        if (_deletion is { Step: DeletionStep.Draining, ClearedAt: > 0 } && _snapshotsInFlight == 0 && _cleanupsInFlight == 0 && _sealingTo == 0)
        {
            _deletion.Step = DeletionStep.Snapshots;
            DeleteSnapshots(new SnapshotSelectionCriteria(long.MaxValue));
        }
    }

    private void DeletionReply(bool success, bool snapshots, Exception? cause)
    {
        var deletion = _deletion!;
        switch (deletion.Step)
        {
            case DeletionStep.Draining:
                // The reply to a clean-up started after a snapshot, before the delete.
                _cleanupsInFlight--;
                ContinueDelete();
                break;
            case DeletionStep.Snapshots when snapshots && success:
                deletion.Step = DeletionStep.Events;
                DeleteMessages(deletion.ClearedAt);
                break;
            case DeletionStep.Events when !snapshots && success && _segments is not null:
                deletion.Step = DeletionStep.Segments;
                _segments.Tell(SegmentStore.DeleteAll.Instance);
                break;
            case DeletionStep.Events when !snapshots && success:
                Deleted();
                break;
            case DeletionStep.Snapshots when snapshots:
            case DeletionStep.Events when !snapshots:
                DeleteFailed(deletion, cause!);
                break;
            default:
                _log.Warning("List {0}: an unexpected {1} reply while deleting {2}", _name, snapshots ? "snapshot" : "event", deletion.Step);
                break;
        }
    }

    private void SegmentsDeleted(SegmentStore.Deleted reply)
    {
        if (_deletion is not { Step: DeletionStep.Segments } deletion)
        {
            _log.Warning("List {0}: an unexpected segment deletion reply", _name);
        }
        else if (reply.Cause is null)
        {
            Deleted();
        }
        else
        {
            DeleteFailed(deletion, reply.Cause);
        }
    }

    private void Deleted()
    {
        var deletion = _deletion!;
        var deleted = new ListDeleted { List = _name, Existed = deletion.Existed };
        _metrics.Followers(-_followers.Count);
        _followers.TellAll(deleted);
        foreach (var requester in deletion.Requesters)
        {
            requester.Tell(deleted);
        }

        _log.Info("Deleted list {0}{1}", _name, deletion.Existed ? string.Empty : " (it was empty)");
        _segmentJournalEmpty = true;
        _deletion = null;
        _holdingForSnapshot = false;
        Become(Ready);
        Stash.UnstashAll();
        ArmIdleCheck();
    }

    private void DeleteFailed(Deletion deletion, Exception cause)
    {
        var what = deletion.Step switch
        {
            DeletionStep.Snapshots => "its snapshots",
            DeletionStep.Events => "its events",
            _ => "its item segments",
        };
        _log.Error("Deleting list {0} failed: {1} could not be deleted ({2}); the list is empty, and running delete again removes the rest",
            _name, what, cause.GetBaseException().Message);
        var refusal = new RequestRefused
        {
            List = _name,
            Reason = Refusal.Unavailable,
            Message = $"deleting list '{_name}' failed: {what} could not be deleted ({cause.GetBaseException().Message}); the list is empty now: run delete again to remove the rest",
        };
        foreach (var requester in deletion.Requesters)
        {
            requester.Tell(refusal);
        }

        _metrics.Followers(-_followers.Count);
        _followers.AnswerAll(_page);
        _deletion = null;
        _holdingForSnapshot = false;
        Become(Ready);
        Stash.UnstashAll();
        ArmIdleCheck();
    }

    /// <summary>An empty list is stopped after <see cref="ListSettings.EmptyListPassivation"/>: it holds nothing.</summary>
    private void ArmIdleCheck()
    {
        if (_state.IsEmpty && _hole is null)
        {
            Timers.StartSingleTimer(nameof(IdleCheck), IdleCheck.Instance, _settings.EmptyListPassivation);
        }
    }

    private void CheckIdle()
    {
        if (IsIdleAndEmpty())
        {
            // In a cluster the shard holds new requests until the list has stopped.
            Context.Parent.Tell(_settings.Sharded
                ? new Akka.Cluster.Sharding.Passivate(ListsActor.StopList.Instance)
                : ListsActor.Passivate.Instance);
        }
        else
        {
            ArmIdleCheck();
        }
    }

    /// <summary>The parent stopped routing to this list: stop, unless something arrived meanwhile.</summary>
    private void StopWhenEmpty()
    {
        if (_settings.Sharded)
        {
            HandOver();
            return;
        }

        if (IsIdleAndEmpty())
        {
            Context.Stop(Self);
        }
        else
        {
            Context.Parent.Tell(ListsActor.PassivationCancelled.Instance);
            ArmIdleCheck();
        }
    }

    /// <summary>
    /// In a cluster: the shard stops this list (idle, or its shard moves to another node) and
    /// holds its requests meanwhile. Followers are answered now (they ask again, wherever the
    /// list is next); the list stops once no write, snapshot or clean-up is in flight, so
    /// every batch it took is acknowledged before it goes.
    /// </summary>
    private void HandOver()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        ReleaseHeld(); // every batch it took is journaled and acknowledged before it goes
        _log.Info("List {0} leaves this node ({1} items; idle, or its shard is handed over)", _name, _durableLength);
        _metrics.Followers(-_followers.Count);
        _followers.AnswerAll(_page);
        StopIfDrained();
    }

    private void StopIfDrained()
    {
        if (_stopping && _pending.Count == 0 && _deferred == 0 && _snapshotsInFlight == 0 && _cleanupsInFlight == 0 && _sealingTo == 0 && _deletion is null)
        {
            Context.Stop(Self);
        }
    }

    private bool IsIdleAndEmpty() => _state.IsEmpty && _followers.Count == 0 && _pending.Count == 0 && _hole is null;

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "The journal failed to store event {0} of list {1}; the list stops and is loaded again on its next request",
            sequenceNr, _name);
        // The parent first: a resend that answers the refusal must find the list's requests held.
        TellParentStopping();
        RefuseInFlight($"the journal failed: {cause.GetBaseException().Message}");
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // The state already holds the rejected event, and a resend of its batch would now be
        // acknowledged as a duplicate without being journaled. Stop instead: nothing in flight
        // is acknowledged, and the next request starts a new actor that recovers the list from
        // the journal, where the resent batch is applied and journaled again.
        _log.Error(cause, "The journal rejected event {0} of list {1}; the list stops and is loaded again on its next request",
            sequenceNr, _name);
        // The parent first: a resend that answers the refusal must find the list's requests held.
        TellParentStopping();
        RefuseInFlight($"the journal rejected a write: {cause.GetBaseException().Message}");
        Context.Stop(Self);
    }

    /// <summary>Alone, the lists actor holds this list's requests for its next actor; in a cluster the shard starts one on the next request.</summary>
    private void TellParentStopping()
    {
        if (!_settings.Sharded)
        {
            Context.Parent.Tell(ListsActor.ListStopping.Instance);
        }
    }

    /// <summary>Every batch and delete whose write was in flight hears that it must be sent again.</summary>
    private void RefuseInFlight(string why)
    {
        foreach (var write in _pending)
        {
            _metrics.Refused(Refusal.Unavailable);
            write.Sender.Tell(new AppendRefused
            {
                List = _name,
                Producer = write.Ack.Producer,
                FirstOffset = write.Ack.FirstOffset,
                Reason = Refusal.Unavailable,
                Message = $"{why}; send the batch again",
            });
        }

        _pending.Clear();
        foreach (var requester in _deletion?.Requesters ?? [])
        {
            requester.Tell(new RequestRefused { List = _name, Reason = Refusal.Unavailable, Message = $"deleting list '{_name}' failed: {why}" });
        }
    }

    protected override void PostStop()
    {
        _metrics.Followers(-_followers.Count);
        base.PostStop();
    }

    private readonly record struct PendingWrite(IActorRef Sender, BatchAppended Ack, long Started);

    private enum DeletionStep
    {
        Draining,
        Snapshots,
        Events,
        Segments,
    }

    /// <summary>A delete in progress: who asked, and how far it got.</summary>
    private sealed class Deletion(bool existed)
    {
        public bool Existed { get; } = existed;

        public List<IActorRef> Requesters { get; } = [];

        /// <summary>The sequence number of the journaled <see cref="ListCleared"/> marker (0 until then).</summary>
        public long ClearedAt { get; set; }

        public DeletionStep Step { get; set; } = DeletionStep.Draining;
    }

    private sealed class FollowWaitTick : INoSerializationVerificationNeeded
    {
        public static readonly FollowWaitTick Instance = new();
    }

    private sealed class IdleCheck : INoSerializationVerificationNeeded
    {
        public static readonly IdleCheck Instance = new();
    }
}
