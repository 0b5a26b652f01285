using Akka.Actor;
using Akka.Event;
using Protocol.Messages;

namespace Actors.Client;

/// <summary>The window: offers taken in, batches sent and sent again, acknowledgements and refusals counted.</summary>
internal sealed partial class ProducerActor
{
    private void OnOffer(Offer offer, bool send)
    {
        Take(offer.Batch, send);
        if (_pending.Count < _settings.MaxInFlight)
        {
            Sender.Tell(OfferAccepted.Instance);
        }
        else
        {
            _offerer = Sender;
        }
    }

    /// <summary>Puts a batch in the window and sends it, unless not connected yet or the aggregator cannot store.</summary>
    private void Take(AppendBatch batch, bool send)
    {
        batch.Session = _session; // not sent yet: the producer's own batch
        _pending.Add(batch);
        _waitingSince ??= Now;
        if (send && _unavailableSince is null)
        {
            Send(_pending.Count - 1);
            if (!Timers.IsTimerActive(ResendTimer))
            {
                ArmAckTimer();
            }
        }
    }

    private void OnAcknowledged(BatchAppended ack)
    {
        Heard();
        if (_silentSince is { } since)
        {
            // After a stall (in a cluster: the list's node died and the list started on another).
            _log.Warning("Acknowledged again after {0:0.0} s without an answer, by {1}", (_lastHeard - since).TotalSeconds, Sender.Path.Address.ToString());
            _silentSince = null;
        }

        if (ack.Incarnation != 0 && _incarnation == 0)
        {
            _incarnation = ack.Incarnation;
        }

        NoLongerUnavailable();

        if (ack.NextOffset <= _acknowledged)
        {
            return; // an answer to a batch sent twice: already counted.
        }

        if (Conflicts(ack.NextOffset))
        {
            return;
        }

        // Of the newly acknowledged offsets, the batch's applied items are the last ones.
        var newlyAcknowledged = ack.NextOffset - _acknowledged;
        var applied = Math.Min(ack.Applied, newlyAcknowledged);
        _applied += applied;
        _duplicates += newlyAcknowledged - applied;
        ClientDiagnostics.Acknowledged(applied, newlyAcknowledged - applied);
        Advance(ack.NextOffset, byPosition: false);
        AfterProgress();
    }

    private void OnRefused(AppendRefused refused)
    {
        Heard();
        switch (refused.Reason)
        {
            case Refusal.Gap when refused.ExpectedOffset < _acknowledged:
                // The list is behind what it acknowledged: deleted, or an aggregator that lost
                // it. Asking where to resume, with the incarnation, tells which.
                Become(Resuming);
                AskResumePosition();
                return;
            case Refusal.Gap when Conflicts(refused.ExpectedOffset):
                return;
            case Refusal.Gap:
                Advance(refused.ExpectedOffset, byPosition: true);
                if (_gapResentFrom != refused.ExpectedOffset)
                {
                    // Every batch behind the gap is refused too: resend once per gap.
                    _gapResentFrom = refused.ExpectedOffset;
                    _log.Warning("The aggregator expects offset {0}; resending {1} batches", refused.ExpectedOffset, _pending.Count);
                    SendAll();
                }

                AfterProgress();
                return;
            case Refusal.ListDeleted:
                FailDeleted();
                return;
            case Refusal.Unavailable when !_pending.Exists(batch => batch.FirstOffset == refused.FirstOffset):
                // A copy of a batch acknowledged since (resent after an ack time-out) met a list
                // starting again: nothing of it waits to be stored, so nothing waits for a retry.
                return;
            case Refusal.Unavailable:
                Unavailable(refused.Message);
                return;
            case Refusal.ProducerInUse:
                FailWith(new ProducerConflictException($"{refused.Message} ({_acknowledged} items of this one acknowledged)", _acknowledged));
                return;
            default:
                FailWith(new AggregatorRefusedException(refused.Reason, $"the aggregator refused the batch at offset {refused.FirstOffset}: {refused.Message}"));
                return;
        }
    }

    private void OnAckTimeout()
    {
        if (FailIfSilentTooLong() || _pending.Count == 0)
        {
            return;
        }

        // Said once when the stall begins, then every 10 s while it lasts.
        var now = Now;
        if (_silentSince is null || now - _stallLogged >= StallLogInterval)
        {
            _log.Warning("No acknowledgement for {0:0.0} s; resending {1} batches from offset {2} every {3}",
                (now - Unanswered).TotalSeconds, _pending.Count, _acknowledged, _settings.AckTimeout);
            _stallLogged = now;
        }

        _silentSince ??= Unanswered;
        SendAll();
    }

    /// <summary>Everything below <paramref name="next"/> is in the list: drop those batches.</summary>
    private void Advance(ulong next, bool byPosition)
    {
        if (next <= _acknowledged)
        {
            return;
        }

        if (byPosition)
        {
            _confirmedByPosition += next - _acknowledged;
        }

        _acknowledged = next;
        var drop = 0;
        while (drop < _pending.Count && _pending[drop].FirstOffset + _pending[drop].Count <= next)
        {
            drop++;
        }

        _pending.RemoveRange(0, drop);

        // The longest time something was pending without any acknowledgement moving on.
        var now = Now;
        if (_waitingSince is { } since && now - since > _longestWait)
        {
            _longestWait = now - since;
        }

        _waitingSince = _pending.Count > 0 ? now : null;
    }

    private void SendAll()
    {
        if (_aggregator is null)
        {
            return;
        }

        for (var i = 0; i < _pending.Count; i++)
        {
            Send(i);
        }

        ArmAckTimer();
    }

    /// <summary>Sends the pending batch at <paramref name="index"/>, stamped with the incarnation this producer knows.</summary>
    private void Send(int index)
    {
        var batch = _pending[index];
        if (batch.Incarnation != _incarnation)
        {
            // A sent message may still be waiting to be serialized: never change one, copy it.
            batch = batch.Clone();
            batch.Incarnation = _incarnation;
            _pending[index] = batch;
        }

        _aggregator!.Tell(batch);
    }

    private void ArmAckTimer() => Timers.StartSingleTimer(ResendTimer, Resend.Instance, _settings.AckTimeout);

    private void AfterProgress()
    {
        if (_pending.Count == 0)
        {
            Timers.Cancel(ResendTimer);
        }
        else if (_aggregator is not null && _unavailableSince is null)
        {
            ArmAckTimer();
        }

        if (_offerer is not null && _pending.Count < _settings.MaxInFlight)
        {
            _offerer.Tell(OfferAccepted.Instance);
            _offerer = null;
        }

        if (_finisher is not null && _pending.Count == 0 && _started)
        {
            _finisher.Tell(new Finished(_acknowledged, _applied, _duplicates, _confirmedByPosition, _longestWait));
            _finisher = null;
        }
    }
}
