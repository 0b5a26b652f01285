using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Protocol.Messages;

namespace Aggregator.Lists;

/// <summary>Recovery: every event of the list, in order; and the behaviour of a list whose journal has a hole.</summary>
public sealed partial class ListActor
{
    /// <summary>Why the list cannot be recovered (an event that does not continue its producer); null while it is sound.</summary>
    private string? _hole;

    private System.Diagnostics.Stopwatch? _recovery;

    /// <summary>When the recovery started, on the list's clock, and when it next says how far it got.</summary>
    private (long Started, RecoveryProgress Progress) _recoveryLog;

    /// <summary>
    /// The requests that came while the list loads, with their senders (Akka.Persistence holds
    /// them until it has loaded): refused UNAVAILABLE if the load fails, where the actor stops
    /// and would drop them unanswered. Null once loaded.
    /// </summary>
    private List<(IListRequest Request, IActorRef Sender)>? _arrivedWhileLoading = [];

    /// <summary>Notes a request that came while the list loads (see <see cref="_arrivedWhileLoading"/>).</summary>
    private void NoteIfLoading(IListRequest request)
    {
        // Stats requests are left out: their collector names a list that does not answer.
        if (_arrivedWhileLoading is not null && request is not GetListStats)
        {
            _arrivedWhileLoading.Add((request, Sender));
        }
    }

    private void Recovering()
    {
        _recovery = System.Diagnostics.Stopwatch.StartNew();
        _recoveryLog = (_clock.GetTimestamp(), new RecoveryProgress(_settings.RecoveryProgressEvery));
        Recover<ItemsAppended>(Replay);
        Recover<ListStarted>(started => _state.Apply(started));
        Recover<RecoveryCompleted>(_ => Recovered());
    }

    private void Replay(ItemsAppended appended)
    {
        if (_hole is not null)
        {
            return; // nothing after a hole can be trusted
        }

        if (_state.ApplyRecovered(appended) is { } next)
        {
            _hole = $"list '{_name}' cannot be recovered: event {LastSequenceNr} of persistence id '{PersistenceId}' starts producer '{appended.Producer}' at offset {appended.FirstOffset}, but its events before end at offset {next}; the list refuses every request until it is deleted";
            return;
        }

        var elapsed = _clock.GetElapsedTime(_recoveryLog.Started);
        if (_recoveryLog.Progress.Due(elapsed))
        {
            _log.Info("Recovering list {0}: {1} items ({2} bytes), {3} events so far, {4:0.0} s",
                _name, _state.Length, _state.Items.PackedBytes, LastSequenceNr, elapsed.TotalSeconds);
        }
    }

    private void Recovered()
    {
        _arrivedWhileLoading = null;
        var elapsed = _recovery!.Elapsed;
        _state.MarkDurable(_state.Length);
        _metrics.Recovered(elapsed);
        if (_hole is not null)
        {
            _log.Error("{0}", _hole);
            Become(Broken);
        }
        else if (!_state.IsEmpty)
        {
            _log.Info("Recovered list {0}: {1} items ({2} bytes), {3} producers, {4} events in {5} ms",
                _name, _state.Length, _state.Items.PackedBytes, _state.ProducerCount, LastSequenceNr, (long)elapsed.TotalMilliseconds);
        }

        ArmIdleCheck();
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        // The actor stops. The requests that came meanwhile hear at once that they may ask
        // again (workers retry UNAVAILABLE with back-off): the next one starts a new actor.
        _log.Error(reason, "Loading list {0} from the journal failed; the next request for it tries again", _name);
        var why = $"loading list '{_name}' from the journal failed: {reason.GetBaseException().Message}; ask again";
        foreach (var (request, sender) in _arrivedWhileLoading ?? [])
        {
            Refusals.Refuse(request, Refusal.Unavailable, why, sender, _metrics, _log);
        }

        _arrivedWhileLoading = null;
    }

    /// <summary>The journal holds an event that does not continue its producer: refuse everything but a delete.</summary>
    private void Broken()
    {
        Command<DeleteList>(StartDelete);
        Command<AppendBatch>(m => Sender.Tell(CountedRefusal(new AppendRefused
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
        Command<GetListStats>(_ => ReplyStats());
        Command<StopList>(_ => HandOver());
    }

    private void RefuseBroken() =>
        Sender.Tell(CountedRefusal(new RequestRefused { List = _name, Reason = Refusal.ListBroken, Message = _hole }));

    /// <summary>Counts a refusal of the broken list in the metrics and returns it.</summary>
    private AppendRefused CountedRefusal(AppendRefused refusal)
    {
        _metrics.Refused(refusal.Reason);
        return refusal;
    }

    private RequestRefused CountedRefusal(RequestRefused refusal)
    {
        _metrics.Refused(refusal.Reason);
        return refusal;
    }
}
