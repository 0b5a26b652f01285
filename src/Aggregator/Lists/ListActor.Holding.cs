using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Aggregator.Storage;
using Protocol.Messages;

namespace Aggregator.Lists;

/// <summary>
/// In a cluster, a list answers reads only while its node still holds it. A write the journal
/// commits proves it (the fence refuses a replaced writer's); a list that has proved nothing
/// for <see cref="ListSettings.ConfirmReadsAfter"/> asks the journal first (one indexed read of
/// its epoch), and reads wait for the answer. That time is shorter than the failure detector and
/// the split brain resolver take to let another node start the list, so an answer given within
/// it cannot be older than another node's write. A node paused past the failure detector thus
/// refuses, when it wakes, the reads of the lists it lost, as the fence refuses their writes.
/// </summary>
public sealed partial class ListActor
{
    /// <summary>The clock's timestamp when the journal last proved that this actor holds the list (a write's, or a check's, start).</summary>
    private long _heldAt;

    /// <summary>When the check in flight started (null: none).</summary>
    private long? _checkStarted;

    /// <summary>Reads waiting for the check in flight.</summary>
    private List<(object Request, IActorRef Sender)>? _awaitingHold;

    private IActorRef? _journal;

    private void HoldingCommands()
    {
        Command<HolderConfirmed>(confirmed =>
        {
            _heldAt = Math.Max(_heldAt, confirmed.Started);
            EndCheck(confirmed.Started, refusal: null);
        });
        Command<HolderReplaced>(_ => LostToAnotherNode());
        Command<HolderCheckFailed>(failed =>
            EndCheck(failed.Started, $"cannot confirm that this node still holds list '{_name}' (the journal failed: {failed.Problem}); ask again"));
        Command<HolderCheckTimedOut>(timedOut =>
            EndCheck(timedOut.Started, $"cannot confirm that this node still holds list '{_name}' (the journal did not answer within {_settings.HolderCheckTimeout.TotalSeconds:0.#} s); ask again"));
    }

    /// <summary>A write the journal committed, started at <paramref name="started"/>: the list was held then.</summary>
    private void Held(long started) => _heldAt = Math.Max(_heldAt, started);

    /// <summary>Answers a read now if the list is known to be held, or once the journal confirms it.</summary>
    private void ReadWhenHeld(object request, IActorRef sender)
    {
        if (_settings.ConfirmReadsAfter is not { } within || !_settings.Durable || _clock.GetElapsedTime(_heldAt) < within)
        {
            Answer(request, sender);
            return;
        }

        (_awaitingHold ??= []).Add((request, sender));
        if (_checkStarted is null)
        {
            var started = _clock.GetTimestamp();
            _checkStarted = started;
            _journal ??= Persistence.Instance.Apply(Context.System).JournalFor(JournalPluginId);
            _journal.Tell(new ConfirmHolder(PersistenceId, Self, started));
            Timers.StartSingleTimer(nameof(HolderCheckTimedOut), new HolderCheckTimedOut(started), _settings.HolderCheckTimeout);
        }
    }

    private void Answer(object request, IActorRef sender)
    {
        switch (request)
        {
            case GetLength:
                sender.Tell(new Length { List = _name, Count = (ulong)_state.DurableLength });
                break;
            case GetRange range:
                Read(range, sender);
                break;
        }
    }

    /// <summary>The check that started at <paramref name="started"/> ended: its reads are answered (checked again if need be), or refused.</summary>
    private void EndCheck(long started, string? refusal)
    {
        if (_checkStarted != started)
        {
            return; // an answer after its time-out
        }

        _checkStarted = null;
        Timers.Cancel(nameof(HolderCheckTimedOut));
        var waiting = _awaitingHold ?? [];
        _awaitingHold = null;
        foreach (var (request, sender) in waiting)
        {
            if (refusal is null)
            {
                ReadWhenHeld(request, sender);
            }
            else
            {
                _metrics.Refused(Refusal.Unavailable);
                sender.Tell(new RequestRefused { List = _name, Reason = Refusal.Unavailable, Message = refusal });
            }
        }

        StopIfDrained();
    }

    /// <summary>Another node recovered the list since: nothing more is answered here; the list stops.</summary>
    private void LostToAnotherNode()
    {
        _log.Warning("List {0} is held by another node now (it took the list over while this node was paused or cut off): this node's copy stops without answering anything more", _name);
        AskParentToHold();
        foreach (var (_, sender) in _awaitingHold ?? [])
        {
            _metrics.Refused(Refusal.Unavailable);
            sender.Tell(new RequestRefused { List = _name, Reason = Refusal.Unavailable, Message = $"this node no longer holds list '{_name}'; ask again" });
        }

        _awaitingHold = null;
        RefuseInFlight("this node no longer holds the list");
        Context.Stop(Self);
    }

    private sealed record HolderCheckTimedOut(long Started) : INoSerializationVerificationNeeded;
}
