using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Aggregator.Storage;
using Protocol.Messages;

namespace Aggregator.Lists;

/// <summary>
/// In a cluster, a list answers reads only while its node still holds it. A committed append
/// proves it (the fence refuses a replaced writer's); a list that has proved nothing for
/// <see cref="ListSettings.ConfirmReadsAfter"/> asks the journal first (one indexed read of its
/// epoch), and reads wait for the answer (<see cref="ReadGate{TRead}"/> decides which). That
/// time is shorter than the failure detector and the split brain resolver take to let another
/// node start the list, so a node whose process was paused past them refuses, when it wakes,
/// the reads of the lists it lost, as the fence refuses their writes. What the window does not
/// cover (a node cut off but writing, a frozen virtual machine): docs/operations.md.
/// </summary>
public sealed partial class ListActor
{
    /// <summary>Which reads are answered now and which wait for the journal (in a cluster; always open on a single node).</summary>
    private readonly ReadGate<(object Request, IActorRef Sender)> _reads;

    private IActorRef? _journal;

    private void HoldingCommands()
    {
        Command<HolderConfirmed>(confirmed =>
        {
            var (answer, checkAgain) = _reads.Confirmed(confirmed.Started, _clock.GetTimestamp());
            foreach (var (request, sender) in answer)
            {
                Answer(request, sender);
            }

            EndCheck(checkAgain);
        });
        Command<HolderReplaced>(_ => LostToAnotherNode());
        Command<HolderCheckFailed>(failed => RefuseWaiting(failed.Started,
            $"cannot confirm that this node still holds list '{_name}' (the journal failed: {failed.Problem}); ask again"));
        Command<HolderCheckTimedOut>(timedOut => RefuseWaiting(timedOut.Started,
            $"cannot confirm that this node still holds list '{_name}' (the journal did not answer within {_settings.HolderCheckTimeout.TotalSeconds:0.#} s); ask again"));
    }

    /// <summary>Answers a read now if the list is known to be held, or once the journal confirms it.</summary>
    private void ReadWhenHeld(object request, IActorRef sender)
    {
        switch (_reads.Admit((request, sender), _clock.GetTimestamp()))
        {
            case Admission.AnswerNow:
                Answer(request, sender);
                return;
            case Admission.WaitAndCheck:
                StartCheck();
                return;
        }
    }

    private void StartCheck()
    {
        var started = _reads.CheckStarted!.Value;
        _journal ??= Persistence.Instance.Apply(Context.System).JournalFor(JournalPluginId);
        _journal.Tell(new ConfirmHolder(PersistenceId, Self, started));
        Timers.StartSingleTimer(nameof(HolderCheckTimedOut), new HolderCheckTimedOut(started), _settings.HolderCheckTimeout);
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

    /// <summary>A check ended with its reads answered: another starts for the reads still waiting, if any.</summary>
    private void EndCheck(bool checkAgain)
    {
        if (checkAgain)
        {
            StartCheck();
            return;
        }

        if (_reads.CheckStarted is null)
        {
            Timers.Cancel(nameof(HolderCheckTimedOut));
            StopIfDrained();
        }
    }

    /// <summary>The check that started at <paramref name="started"/> failed: its reads are refused, the list goes on.</summary>
    private void RefuseWaiting(long started, string why)
    {
        foreach (var (_, sender) in _reads.CheckFailed(started))
        {
            RefuseRead(sender, why);
        }

        EndCheck(checkAgain: false);
    }

    private void RefuseRead(IActorRef sender, string why)
    {
        _metrics.Refused(Refusal.Unavailable);
        sender.Tell(new RequestRefused { List = _name, Reason = Refusal.Unavailable, Message = why });
    }

    /// <summary>
    /// Another node recovered the list since (the fence refused a write or a delete, or a check
    /// found it): nothing more is acknowledged or answered here; the list stops.
    /// </summary>
    private void LostToAnotherNode()
    {
        _log.Warning("List {0} is written by another node now (it took the list over while this node was paused or cut off): this node's copy stops without acknowledging or answering anything more", _name);

        // The parent first: a resend that answers the refusal must find the list's requests held.
        AskParentToHold();
        RefuseInFlight("this node no longer holds the list");
        HandStashToParent();
        Context.Stop(Self);
    }

    private sealed record HolderCheckTimedOut(long Started) : INoSerializationVerificationNeeded;
}
