using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Protocol.Messages;

namespace Aggregator.Lists;

/// <summary>
/// Owns one list: carries out what <see cref="ListState"/> decides (journal the event, then
/// acknowledge; or answer once everything before is durable), answers reads page by page and
/// followers through <see cref="Followers"/>. Its behaviours: recovering (Akka's own), then
/// <see cref="Ready"/>, <see cref="Deleting"/> while a delete waits for the journal, and
/// <see cref="Broken"/> for a journal with a hole. One concern a file: this one (the append
/// protocol), .Recovery, .Reads, .Holding (reads in a cluster), .Deleting, .Lifecycle.
/// </summary>
/// <remarks>
/// Durability: an append is applied to the state at once (so the next batch is checked
/// against it) and journaled with <c>PersistAsync</c>; its acknowledgement is sent from the
/// persist callback, which also moves the durable length. Batches that arrive while a write
/// is in flight are written together (the journal groups them into one transaction). Readers
/// see items up to the durable length only; answers about positions go through
/// <c>DeferAsync</c>, after everything applied before them is durable. Every item is written
/// once, in its batch's event; recovery reads them all back.
/// </remarks>
public sealed partial class ListActor : ReceivePersistentActor, IWithTimers
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

    /// <summary>Answers sent through the journal (<c>DeferAsync</c>, and the incarnations <c>PersistAsync</c> journals first) and not delivered yet.</summary>
    private int _deferred;

    /// <summary>The producer run and reason of the last refusal logged: the same again is not logged again.</summary>
    private (string Producer, ulong Session, Refusal Reason)? _lastWarned;

    public ListActor(string name, ListSettings settings, AggregatorMetrics metrics, TimeProvider? clock = null)
    {
        _name = name;
        _settings = settings;
        _metrics = metrics;
        _clock = clock ?? TimeProvider.System;
        _state = new ListState(settings.SegmentBytes);
        // The recovery's claim, which comes after this moment, proves the list held at it.
        _reads = new(settings.Durable ? settings.ConfirmReadsAfter : null, _clock, _clock.GetTimestamp());
        _persisted = Persisted;
        PersistenceId = PersistenceIdOf(name);
        Recovering();
        Ready();
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string name, ListSettings settings, AggregatorMetrics metrics, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ListActor(name, settings, metrics, clock));

    /// <summary>The journal's id of a list: the same in every version and every mode.</summary>
    public static string PersistenceIdOf(string list) => "list-" + list;

    private long NowMs => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// A request for another list, sent to this list's actor by its path instead of through the
    /// node's entry (which routes by name): refused before anything else sees it, so that no
    /// peer writes, reads or deletes one list through another's actor.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (message is IListRequest request)
        {
            if (!string.Equals(request.List, _name, StringComparison.Ordinal))
            {
                Refusals.Refuse(request, Refusal.InvalidName,
                    $"a request for list '{request.List}' was sent to the actor of list '{_name}'", Sender, _metrics, _log);
                return true;
            }

            NoteIfLoading(request);
        }

        return base.AroundReceive(receive, message);
    }

    private void Ready()
    {
        Command<AppendBatch>(Append);
        Command<GetResumePosition>(Resume);
        Command<GetLength>(request => ReadWhenHeld(request, Sender));
        Command<GetRange>(request => ReadWhenHeld(request, Sender));
        Command<DeleteList>(StartDelete);
        Command<GetListStats>(_ => ReplyStats());
        HoldingCommands();
        LifecycleCommands();
    }

    private void Append(AppendBatch batch)
    {
        var now = NowMs;
        switch (_state.Decide(batch, _settings, now, _settings.NewIncarnation()))
        {
            case AppendDecision.Refuse refuse:
                _metrics.Refused(refuse.Refusal.Reason);
                if (refuse.Warn && _lastWarned != (batch.Producer, batch.Session, refuse.Refusal.Reason))
                {
                    // Once for a run's window: the batches it has in flight are refused alike.
                    _lastWarned = (batch.Producer, batch.Session, refuse.Refusal.Reason);
                    _log.Warning("Refused a batch for list {0} from producer {1} at offset {2}: {3}",
                        _name, batch.Producer, batch.FirstOffset, refuse.Refusal.Message);
                }

                Reply(refuse.Refusal);
                return;
            case AppendDecision.Duplicate duplicate:
                _state.Claim(batch.Producer, batch.Session);
                _metrics.Appended(0, duplicate.Ack.Duplicates);
                duplicate.Ack.Length = (ulong)_state.Length;
                Reply(duplicate.Ack);
                return;
            case AppendDecision.Write write:
                if (write.PurgeFirst)
                {
                    PurgeExpired(now);
                }

                LogIfExpired(batch.Producer, write.ExpiredLastAppend);
                _state.Apply(write.Event);
                _state.Claim(batch.Producer, batch.Session);
                if (!_settings.Durable)
                {
                    _state.MarkDurable(_state.Length);
                    write.Ack.Length = (ulong)_state.DurableLength;
                    _metrics.Appended(write.Ack.Applied, write.Ack.Duplicates);
                    Sender.Tell(write.Ack);
                    AnswerFollowers();
                    return;
                }

                _pending.Enqueue(new PendingWrite(Sender, write.Ack, _clock.GetTimestamp()));
                PersistAsync(write.Event, _persisted);
                return;
        }
    }

    /// <summary>An event is journaled: it is durable, its batch is acknowledged, followers may see it.</summary>
    private void Persisted(ItemsAppended appended)
    {
        var write = _pending.Dequeue();
        _state.MarkDurable(_state.DurableLength + appended.Count);
        write.Ack.Length = (ulong)_state.DurableLength;
        write.Sender.Tell(write.Ack);
        _reads.Proved(write.Started);
        _metrics.JournalWrite(_clock.GetElapsedTime(write.Started));
        _metrics.Appended(write.Ack.Applied, write.Ack.Duplicates);
        AnswerFollowers();
        AfterWrite();
    }

    private void Resume(GetResumePosition request)
    {
        var decision = _state.Decide(request, _settings, NowMs, _settings.NewIncarnation());
        if (decision is ResumeDecision.Answer)
        {
            // The run that asks last holds the producer id: an earlier run's batches are refused from now on.
            _state.Claim(request.Producer, request.Session);
        }

        switch (decision)
        {
            case ResumeDecision.Refuse refuse:
                _metrics.Refused(refuse.Refusal.Reason);
                Sender.Tell(refuse.Refusal);
                return;
            case ResumeDecision.Answer { Start: { } start } answer when _settings.Durable:
                // The incarnation is journaled before anyone hears of it.
                LogIfExpired(request.Producer, answer.ExpiredLastAppend);
                _state.Apply(start);
                var sender = Sender;
                _deferred++;
                PersistAsync(start, _ =>
                {
                    _deferred--;
                    sender.Tell(answer.Position);
                    AfterWrite();
                });
                return;
            case ResumeDecision.Answer answer:
                LogIfExpired(request.Producer, answer.ExpiredLastAppend);
                if (answer.Start is { } inMemory)
                {
                    _state.Apply(inMemory);
                }

                Reply(answer.Position);
                return;
        }
    }

    private void LogIfExpired(string producer, long? lastAppend)
    {
        if (lastAppend is { } last)
        {
            _log.Info(
                "Producer {0} of list {1} is back after its position expired (last append {2:u}, producer-retention {3}): it starts again from offset 0, and a re-run of old input adds its items again",
                producer, _name, DateTimeOffset.FromUnixTimeMilliseconds(last), _settings.ProducerRetention);
        }
    }

    private void PurgeExpired(long now)
    {
        var purged = _state.PurgeExpired(now, _settings.RetentionMs);
        if (purged > 0)
        {
            _log.Info("List {0} forgot {1} producer positions older than producer-retention ({2})", _name, purged, _settings.ProducerRetention);
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
            AfterWrite();
        });
    }

    private readonly record struct PendingWrite(IActorRef Sender, BatchAppended Ack, long Started);
}
