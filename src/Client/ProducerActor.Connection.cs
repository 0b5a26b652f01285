using Akka.Actor;
using Akka.Event;
using Akka.Remote;
using Protocol.Messages;

namespace Actors.Client;

/// <summary>Finding the aggregator, asking where to resume, and losing it: the producer's connection.</summary>
internal sealed partial class ProducerActor
{
    /// <param name="announce">false after a loss, which is already announced.</param>
    private void Locate(bool announce)
    {
        _locator.LocateAsync(_connectTimeout, _contact, announce: announce).PipeTo(Self,
            success: located => new Located(located.Lists, located.Index),
            failure: e => new LocateFailed(e is AggregatorUnreachableException ? e : e.GetBaseException()));
    }

    private void OnLocated(Located located)
    {
        _aggregator = located.Aggregator;
        _contact = located.Index;
        Context.Watch(_aggregator);
        _lastHeard = Now;
        Become(Resuming);
        AskResumePosition();
    }

    /// <summary>Asks where this producer stands, and again after ack-timeout until answered.</summary>
    private void AskResumePosition()
    {
        if (FailIfSilentTooLong())
        {
            return;
        }

        _aggregator!.Tell(new GetResumePosition { List = _list, Producer = _producer, Incarnation = _incarnation, Session = _session });
        Timers.StartSingleTimer(ResendTimer, Resend.Instance, _settings.AckTimeout);
    }

    private void OnResumePosition(ResumePosition position)
    {
        Heard();
        Timers.Cancel(ResendTimer);
        Timers.Cancel(RetryTimer);
        if (_unavailableSince is not null)
        {
            // It answers again: what was held back for UNAVAILABLE goes out now.
            _log.Warning("The aggregator answers again after {0:0} s", (Now - _unavailableSince.Value).TotalSeconds);
            _unavailableSince = null;
            _unavailableReason = null;
            _backoff.Reset();
        }

        if (position.Incarnation != 0)
        {
            _incarnation = position.Incarnation;
        }

        if (!_started)
        {
            _acknowledged = position.NextOffset;
            _started = true;
            if (_starter is not null)
            {
                ReplyStarted();
            }

            BecomeStreaming();
            return;
        }

        // Back after an outage, or after the aggregator named an offset behind ours.
        if (position.NextOffset < _acknowledged)
        {
            FailWith(new AggregatorLostItemsException(
                $"the aggregator expects offset {position.NextOffset} but had acknowledged up to {_acknowledged}: it lost acknowledged items (restarted without a journal?)"));
            return;
        }

        if (Conflicts(position.NextOffset))
        {
            return;
        }

        Advance(position.NextOffset, byPosition: true);
        _log.Warning("Resuming at offset {0} with the aggregator at {1}; resending {2} unacknowledged batches",
            _acknowledged, _locator.Endpoint(_contact), _pending.Count);
        _gapResentFrom = null;
        BecomeStreaming();
        SendAll();
        AfterProgress();
    }

    private void OnResumeRefused(RequestRefused refused)
    {
        Heard();
        switch (refused.Reason)
        {
            case Refusal.ListDeleted:
                FailDeleted();
                break;
            case Refusal.Unavailable:
                Unavailable(refused.Message);
                break;
            default:
                FailWith(new AggregatorRefusedException(refused.Reason, $"the aggregator refused to say where to resume: {refused.Message}"));
                break;
        }
    }

    private void BecomeStreaming()
    {
        if (_finisher is not null)
        {
            Become(Draining);
        }
        else
        {
            Become(Streaming);
        }
    }

    private void ReplyStarted()
    {
        _starter!.Tell(new Started(_acknowledged));
        _starter = null;
    }

    private void OnTerminated(Terminated terminated)
    {
        if (terminated.ActorRef.Equals(_aggregator))
        {
            Lost();
        }
    }

    private void OnDisassociated(DisassociatedEvent disassociated)
    {
        if (_aggregator is not null && disassociated.RemoteAddress.Equals(_aggregator.Path.Address))
        {
            Lost();
        }
    }

    /// <summary>The contact is gone: find it again, or, with several, the next one first.</summary>
    private void Lost()
    {
        if (_locator.Count > 1)
        {
            _log.Warning("Lost the aggregator at {0}; trying the other contacts ({1}) for up to {2} s",
                _locator.Endpoint(_contact), _locator.Endpoints, _connectTimeout.TotalSeconds);
            _contact = (_contact + 1) % _locator.Count;
        }
        else
        {
            _log.Warning("Lost the aggregator at {0}; waiting up to {1} s for it to return",
                _locator.Endpoint(_contact), _connectTimeout.TotalSeconds);
        }

        Context.Unwatch(_aggregator);
        _aggregator = null;
        _gapResentFrom = null;
        Timers.CancelAll();
        Become(Connecting);
        Locate(announce: false);
    }

    private void Heard() => _lastHeard = Now;
}
