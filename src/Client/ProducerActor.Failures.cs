using Akka.Actor;
using Akka.Event;
using Protocol.Messages;

namespace Actors.Client;

/// <summary>How a run ends badly: UNAVAILABLE or silence for too long, a deleted list, another producer of the same id.</summary>
internal sealed partial class ProducerActor
{
    /// <summary>
    /// The aggregator cannot store items now (its journal fails): wait with back-off and send
    /// again, for up to unavailable-timeout in a row.
    /// </summary>
    private void Unavailable(string reason)
    {
        var now = Now;
        if (_unavailableSince is null)
        {
            _unavailableSince = now;
            _log.Warning("The aggregator cannot store items of list {0} now: {1}; trying again with back-off for up to {2} (unavailable-timeout)",
                _list, reason, _settings.UnavailableTimeout);
        }

        _unavailableReason = reason;
        if (now - _unavailableSince.Value > _settings.UnavailableTimeout)
        {
            FailWith(new AggregatorUnavailableException(
                $"the aggregator could not store items for {_settings.UnavailableTimeout.TotalSeconds:0.###} s (unavailable-timeout): {reason}; {_acknowledged} items acknowledged (the same producer id resumes after them)",
                _acknowledged));
            return;
        }

        Timers.Cancel(ResendTimer);
        if (!Timers.IsTimerActive(RetryTimer))
        {
            Timers.StartSingleTimer(RetryTimer, Retry.Instance, _backoff.Next());
        }
    }

    /// <summary>The aggregator stores again (it acknowledged a batch): new batches go out at once.</summary>
    private void NoLongerUnavailable()
    {
        if (_unavailableSince is null)
        {
            return;
        }

        _log.Warning("The aggregator stores items again after {0:0} s", (Now - _unavailableSince.Value).TotalSeconds);
        _unavailableSince = null;
        _unavailableReason = null;
        _backoff.Reset();
    }

    /// <summary>Fails the run (and answers true) when the aggregator has answered nothing for unavailable-timeout.</summary>
    private bool FailIfSilentTooLong()
    {
        var silent = Now - Unanswered;
        if (silent <= _settings.UnavailableTimeout)
        {
            return false;
        }

        FailWith(new AggregatorUnavailableException(
            $"the aggregator at {_locator.Endpoint(_contact)} is connected but has answered nothing for {silent.TotalSeconds:0} s (unavailable-timeout); {_acknowledged} items acknowledged (the same producer id resumes after them)",
            _acknowledged));
        return true;
    }

    private void FailDeleted() => FailWith(new ListDeletedException(_list, _acknowledged));

    /// <summary>
    /// Whether the aggregator names <paramref name="offset"/> past every offset this producer
    /// took in: only another producer of the same id can have appended those (failed then).
    /// Without this, the producer would wait for ever for acknowledgements of offsets the
    /// list has already passed, which it answers as duplicates.
    /// </summary>
    private bool Conflicts(ulong offset)
    {
        if (offset <= SentEnd)
        {
            return false;
        }

        FailWith(new ProducerConflictException(
            $"another producer with id '{_producer}' is appending to list '{_list}': the aggregator is at offset {offset}, past offset {SentEnd}, the end of what this producer sent; use one id for one producer at a time ({_acknowledged} items of this one acknowledged)",
            _acknowledged));
        return true;
    }

    /// <summary>
    /// The end of the offsets this producer has taken in: its last pending batch's end, or,
    /// with nothing pending, what is acknowledged (batches are taken in offset order).
    /// </summary>
    private ulong SentEnd => _pending.Count > 0 ? _pending[^1].FirstOffset + _pending[^1].Count : _acknowledged;

    private void FailWith(AggregatorException reason)
    {
        var failure = new AppendFailed(reason);
        Timers.CancelAll();
        foreach (var waiting in new[] { _starter, _offerer, _finisher })
        {
            waiting?.Tell(failure);
        }

        _starter = _offerer = _finisher = null;
        Become(() => Failed(failure));
    }
}
