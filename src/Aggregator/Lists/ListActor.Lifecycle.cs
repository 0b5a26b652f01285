using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Aggregator.Storage;
using Protocol.Messages;

namespace Aggregator.Lists;

/// <summary>
/// Life and death: an empty list stops when idle, a list leaves its node when its shard moves
/// (once nothing it took is unanswered), and a journal that fails, refuses a write, or says
/// another node writes the list now, stops it without acknowledging anything more.
/// </summary>
public sealed partial class ListActor
{
    /// <summary>The list leaves (its shard moves, or it is idle): it stops once nothing it took is unanswered.</summary>
    private bool _stopping;

    private void LifecycleCommands()
    {
        Command<FollowWaitTick>(_ => ExpireFollowers());
        Command<IdleCheck>(_ => CheckIdle());
        Command<StopList>(_ => HandOver());
    }

    /// <summary>After a write or a deferred answer: a delete may go on, a leaving list may stop.</summary>
    private void AfterWrite()
    {
        DeleteWhenWritten();
        StopIfDrained();
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
            // The parent (the shard, or LocalLists alone) holds new requests from now on and sends StopList.
            Context.Parent.Tell(new Passivate(StopList.Instance));
            Become(Passivating);
        }
        else
        {
            ArmIdleCheck();
        }
    }

    /// <summary>
    /// An empty list that asked to stop, or a journaled one whose delete failed: a request that
    /// still reaches it (sent before the parent began to hold them, or stashed during the
    /// delete) goes back to the parent, which holds it for the list's next actor. Nothing
    /// changes the list any more, so stopping loses nothing: an empty list holds nothing, and
    /// the next actor of a journaled one loads it from the journal.
    /// </summary>
    private void Passivating()
    {
        Command<StopList>(_ => Context.Stop(Self));
        Command<IListRequest>(request => Context.Parent.Forward(request));
        Command<FollowWaitTick>(_ => { });
        Command<IdleCheck>(_ => { });
    }

    /// <summary>
    /// The parent stops this list (it is idle in a cluster, or its shard moves to another node)
    /// and holds its requests meanwhile. Followers are answered now (they ask again, wherever the
    /// list is next); the list stops once no write or answer is in flight, so every batch it
    /// took is acknowledged before it goes.
    /// </summary>
    private void HandOver()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        _log.Info("List {0} leaves this node ({1} items; idle, or its shard is handed over)", _name, _state.DurableLength);
        ReleaseFollowers();
        StopIfDrained();
    }

    private void StopIfDrained()
    {
        if (_stopping && _pending.Count == 0 && _deferred == 0 && _deletion is null && _reads.CheckStarted is null)
        {
            Context.Stop(Self);
        }
    }

    /// <summary>
    /// Nothing to keep: no item, position, follower or write (a producer's first resume, whose
    /// answer waits for its incarnation to be journaled, included). In memory, a list that has handed
    /// out its incarnation is kept too: its next actor would not know it, and would take a
    /// producer's first batch for one sent before a delete.
    /// </summary>
    private bool IsIdleAndEmpty() => _state.IsEmpty && (_settings.Durable || _state.Incarnation == 0)
        && _followers.Count == 0 && _pending.Count == 0 && _deferred == 0 && _hole is null && _reads.CheckStarted is null;

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        if (cause is JournalFencedException)
        {
            LostToAnotherNode();
            return;
        }

        _log.Error(cause, "The journal failed to store event {0} of list {1}; the list stops and is loaded again on its next request",
            sequenceNr, _name);

        // The parent first: a resend that answers the refusal must find the list's requests held.
        AskParentToHold();
        RefuseInFlight($"the journal failed: {cause.GetBaseException().Message}");
        HandStashToParent();
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
        AskParentToHold();
        RefuseInFlight($"the journal rejected a write: {cause.GetBaseException().Message}");
        HandStashToParent();
        Context.Stop(Self);
    }

    /// <summary>
    /// The list stops after a journal failure: its parent (a shard, or LocalLists) holds the
    /// requests that come meanwhile and gives them to the list's next actor, which loads the
    /// list from the journal again.
    /// </summary>
    private void AskParentToHold() => Context.Parent.Tell(new Passivate(StopList.Instance));

    /// <summary>
    /// The requests that waited in the stash for a delete go to the parent, which holds them for
    /// the list's next actor (after <see cref="AskParentToHold"/>): an actor that stops puts its
    /// stash back into its closed mailbox, and they would be dead letters, answered by nobody.
    /// </summary>
    private void HandStashToParent()
    {
        foreach (var envelope in Stash.ClearStash())
        {
            if (envelope.Message is IListRequest)
            {
                Context.Parent.Tell(envelope.Message, envelope.Sender);
            }
        }
    }

    /// <summary>
    /// Every batch and delete whose write was in flight hears that it must be sent again; every
    /// read waiting for the journal, and every follower, that it must ask again.
    /// </summary>
    private void RefuseInFlight(string why)
    {
        foreach (var (_, sender) in _reads.TakeAll())
        {
            RefuseRead(sender, $"{why}; ask again");
        }

        _metrics.Followers(-_followers.Count);
        _followers.TellAll(new RequestRefused { List = _name, Reason = Refusal.Unavailable, Message = $"{why}; ask again" });

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

    /// <summary>
    /// The lists gauge counts list actors, whoever started them: LocalLists on a single node,
    /// the shard region in a cluster.
    /// </summary>
    protected override void PreStart()
    {
        _metrics.ListStarted();
        base.PreStart();
    }

    protected override void PostStop()
    {
        _metrics.ListStopped();
        _metrics.Followers(-_followers.Count);
        base.PostStop();
    }

    /// <summary>
    /// parent -> list: stop. The parent's answer to the list's <see cref="Passivate"/>, or the
    /// shard's hand-off (its <c>HandOffStopMessage</c>) and idle passivation in a cluster.
    /// </summary>
    public sealed class StopList : INoSerializationVerificationNeeded
    {
        public static readonly StopList Instance = new();
    }

    private sealed class IdleCheck : INoSerializationVerificationNeeded
    {
        public static readonly IdleCheck Instance = new();
    }
}
