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
/// answers reads page by page, and holds followers' requests at the end of the list until
/// items arrive. The append protocol lives here, in <see cref="Append"/>.
/// </summary>
/// <remarks>
/// Durability: an append is applied to the state at once (so the next batch is checked
/// against it) and journaled with <c>PersistAsync</c>; its acknowledgement is sent from
/// the persist callback. Batches that arrive while a write is in flight are written
/// together (Akka's journal batching), so throughput does not fall to one transaction per
/// batch. Every other reply goes through <c>DeferAsync</c>: it is sent once everything
/// applied before it is durable, so no reader or producer ever sees an item that a crash
/// could take back.
/// </remarks>
public sealed class ListActor : ReceivePersistentActor, IWithTimers
{
    private readonly string _name;
    private readonly ListSettings _settings;
    private readonly ListState _state = new();
    private readonly List<Waiter> _waiters = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _bytesSinceSnapshot;
    private int _pendingWrites;
    private IActorRef? _deleteRequester;
    private bool _eventsDeleted;
    private bool _snapshotsDeleted;

    public ListActor(string name, ListSettings settings)
    {
        _name = name;
        _settings = settings;
        PersistenceId = "list-" + name;

        var recovery = System.Diagnostics.Stopwatch.StartNew();
        long snapshotAt = 0;
        Recover<SnapshotOffer>(offer =>
        {
            _state.Restore((ListSnapshot)offer.Snapshot);
            snapshotAt = offer.Metadata.SequenceNr;
        });
        Recover<ItemsAppended>(appended =>
        {
            _state.Apply(appended);
            _bytesSinceSnapshot += appended.Items.Length;
        });
        Recover<RecoveryCompleted>(_ =>
        {
            if (_state.Length > 0)
            {
                _log.Info("Recovered list {0}: {1} items, {2} producers, up to event {3} ({4}) in {5} ms",
                    _name, _state.Length, _state.ProducerCount, LastSequenceNr,
                    snapshotAt > 0 ? $"snapshot at event {snapshotAt} + {LastSequenceNr - snapshotAt} events" : "events only",
                    recovery.ElapsedMilliseconds);
            }
        });

        Command<AppendBatch>(Append);
        Command<GetResumePosition>(m => Reply(new ResumePosition
        {
            List = _name,
            Producer = m.Producer,
            NextOffset = _state.NextOffset(m.Producer),
            Length = (ulong)_state.Length,
        }));
        Command<GetLength>(_ => Reply(new Length { List = _name, Count = (ulong)_state.Length }));
        Command<GetRange>(Read);
        Command<DeleteList>(Delete);
        Command<ExpireWaiters>(_ => Expire());
        Command<SaveSnapshotSuccess>(SnapshotSaved);
        Command<SaveSnapshotFailure>(f => _log.Warning("Snapshot of list {0} failed: {1}", _name, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => DeletionStep(events: true));
        Command<DeleteSnapshotsSuccess>(_ => DeletionStep(events: false));
        Command<DeleteMessagesFailure>(f => DeletionFailed(f.Cause));
        Command<DeleteSnapshotsFailure>(f => DeletionFailed(f.Cause));
        Command<DeleteSnapshotSuccess>(_ => { });
        Command<DeleteSnapshotFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string name, ListSettings settings) =>
        Akka.Actor.Props.Create(() => new ListActor(name, settings));

    private void Append(AppendBatch batch)
    {
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

        if (!_state.KnowsProducer(batch.Producer) && _state.ProducerCount >= _settings.MaxProducersPerList)
        {
            Refuse(batch, Refusal.TooManyProducers,
                $"list '{_name}' already has {_state.ProducerCount} producers; the limit is {_settings.MaxProducersPerList}");
            return;
        }

        var next = _state.NextOffset(batch.Producer);
        if (batch.FirstOffset > next)
        {
            Refuse(batch, Refusal.Gap, $"offset {batch.FirstOffset} leaves a gap: resend from {next}");
            return;
        }

        var end = batch.FirstOffset + batch.Count;
        if (end <= next)
        {
            Acknowledge(batch, next, applied: 0, duplicates: batch.Count);
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

        if (_deleteRequester is not null)
        {
            Refuse(batch, Refusal.Unavailable, $"list '{_name}' is being deleted");
            return;
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
        };
        _state.Apply(appended);
        var ack = Acknowledgement(batch, end, appended.Count, skip);
        if (!_settings.Durable)
        {
            Sender.Tell(ack);
            AnswerWaiters();
            return;
        }

        var sender = Sender;
        _pendingWrites++;
        _bytesSinceSnapshot += appended.Items.Length;
        PersistAsync(appended, _ =>
        {
            _pendingWrites--;
            sender.Tell(ack);
            AnswerWaiters();
            MaybeSnapshot();
        });
    }

    private void Acknowledge(AppendBatch batch, ulong next, uint applied, uint duplicates) =>
        Reply(Acknowledgement(batch, next, applied, duplicates));

    private BatchAppended Acknowledgement(AppendBatch batch, ulong next, uint applied, uint duplicates) =>
        new()
        {
            List = _name,
            Producer = batch.Producer,
            FirstOffset = batch.FirstOffset,
            NextOffset = next,
            Applied = applied,
            Duplicates = duplicates,
            Length = (ulong)_state.Length,
        };

    /// <summary>Answers the sender once everything applied so far is durable (at once in memory).</summary>
    private void Reply(object message)
    {
        var sender = Sender;
        DeferAsync(message, m => sender.Tell(m));
    }

    private void MaybeSnapshot()
    {
        if (_pendingWrites == 0 && _deleteRequester is null
            && _bytesSinceSnapshot >= Math.Max(_settings.SnapshotMinBytes, _state.Items.PackedBytes / 2))
        {
            _bytesSinceSnapshot = 0;
            SaveSnapshot(_state.ToSnapshot());
        }
    }

    private void SnapshotSaved(SaveSnapshotSuccess saved)
    {
        _log.Info("Saved a snapshot of list {0} at event {1} ({2} items)", _name, saved.Metadata.SequenceNr, _state.Length);
        if (_deleteRequester is null)
        {
            // Recovery needs only the newest snapshot and the events after it.
            DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
            DeleteMessages(saved.Metadata.SequenceNr);
        }
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // The state already holds the rejected event, and a resend of its batch would now be
        // acknowledged as a duplicate without being journaled. Stop instead: the batch is not
        // acknowledged, and the next request starts a new actor that recovers the list from
        // the journal, where the resent batch is applied and journaled again.
        _log.Error(cause, "The journal rejected event {0} of list {1}; reloading the list from the journal", sequenceNr, _name);
        Context.Stop(Self);
    }

    private void Refuse(AppendBatch batch, Refusal reason, string message)
    {
        if (reason != Refusal.Gap)
        {
            _log.Warning("Refused a batch for list {0} from producer {1} at offset {2}: {3}",
                _name, batch.Producer, batch.FirstOffset, message);
        }

        Reply(new AppendRefused
        {
            List = _name,
            Producer = batch.Producer,
            FirstOffset = batch.FirstOffset,
            ExpectedOffset = _state.NextOffset(batch.Producer),
            Reason = reason,
            Message = message,
        });
    }

    private void Read(GetRange request)
    {
        var length = (ulong)_state.Length;
        if (request.Wait && request.From == length)
        {
            _waiters.Add(new Waiter(Sender, request.From, request.MaxCount, DateTime.UtcNow + _settings.FollowWait));
            if (!Timers.IsTimerActive(nameof(ExpireWaiters)))
            {
                Timers.StartPeriodicTimer(nameof(ExpireWaiters), ExpireWaiters.Instance,
                    TimeSpan.FromTicks(Math.Max(_settings.FollowWait.Ticks / 4, TimeSpan.TicksPerMillisecond * 10)));
            }

            return;
        }

        Reply(Page(request.From, request.MaxCount));
    }

    private ItemRange Page(ulong from, uint maxCount)
    {
        var length = (ulong)_state.Length;
        var (packed, count) = from < length
            ? _state.Items.Read((long)from, maxCount == 0 ? int.MaxValue : (int)Math.Min(maxCount, int.MaxValue),
                _settings.PageMaxBytes)
            : ([], 0);
        return new ItemRange
        {
            List = _name,
            From = from,
            Count = (uint)count,
            Items = UnsafeByteOperations.UnsafeWrap(packed),
            Length = length,
        };
    }

    private void AnswerWaiters()
    {
        if (_waiters.Count == 0)
        {
            return;
        }

        var length = (ulong)_state.Length;
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            var waiter = _waiters[i];
            if (waiter.From < length)
            {
                waiter.Follower.Tell(Page(waiter.From, waiter.MaxCount));
                _waiters.RemoveAt(i);
            }
        }

        StopExpiryWhenIdle();
    }

    private void Expire()
    {
        var now = DateTime.UtcNow;
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            var waiter = _waiters[i];
            if (waiter.Deadline <= now)
            {
                waiter.Follower.Tell(Page(waiter.From, waiter.MaxCount));
                _waiters.RemoveAt(i);
            }
        }

        StopExpiryWhenIdle();
    }

    private void StopExpiryWhenIdle()
    {
        if (_waiters.Count == 0)
        {
            Timers.Cancel(nameof(ExpireWaiters));
        }
    }

    private void Delete(DeleteList request)
    {
        if (_deleteRequester is not null)
        {
            return;
        }

        _deleteRequester = Sender;
        if (!_settings.Durable || LastSequenceNr == 0)
        {
            Deleted();
            return;
        }

        // The name may be reused at once: both the events and the snapshots must be gone
        // before this actor stops and a new one recovers under the same persistence id.
        DeleteMessages(LastSequenceNr);
        DeleteSnapshots(new SnapshotSelectionCriteria(long.MaxValue));
    }

    private void DeletionStep(bool events)
    {
        if (_deleteRequester is null)
        {
            return; // clean-up after a snapshot
        }

        _eventsDeleted |= events;
        _snapshotsDeleted |= !events;
        if (_eventsDeleted && _snapshotsDeleted)
        {
            Deleted();
        }
    }

    private void DeletionFailed(Exception cause)
    {
        if (_deleteRequester is null)
        {
            _log.Warning("Cleaning up old events of list {0} failed: {1}", _name, cause.Message);
            return;
        }

        _log.Error(cause, "Deleting list {0} failed", _name);
        _deleteRequester.Tell(new RequestRefused { List = _name, Reason = Refusal.Unavailable, Message = $"deleting list '{_name}' failed: {cause.Message}" });
        _deleteRequester = null;
        _eventsDeleted = _snapshotsDeleted = false;
    }

    private void Deleted()
    {
        var deleted = new ListDeleted { List = _name, Existed = _state.Length > 0 || _state.ProducerCount > 0 };
        foreach (var waiter in _waiters)
        {
            waiter.Follower.Tell(deleted);
        }

        _waiters.Clear();
        _log.Info("Deleted list {0} ({1} items, {2} producers)", _name, _state.Length, _state.ProducerCount);
        _deleteRequester!.Tell(deleted);
        Context.Stop(Self);
    }

    private sealed record Waiter(IActorRef Follower, ulong From, uint MaxCount, DateTime Deadline);

    private sealed class ExpireWaiters : INoSerializationVerificationNeeded
    {
        public static readonly ExpireWaiters Instance = new();
    }
}
