using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Aggregator.Storage;
using Protocol.Messages;

namespace Aggregator.Lists;

/// <summary>
/// Delete: once every write in flight is journaled, every event of the list is deleted in
/// one step of the journal (one transaction: all of them, or none). Requests that arrive
/// meanwhile wait in the stash, so that a batch sent before the delete is answered after it,
/// by the list's next incarnation, which refuses it as sent to a deleted list.
/// </summary>
public sealed partial class ListActor
{
    /// <summary>Who asked for the delete in progress, and whether the list held anything (null: no delete in progress).</summary>
    private Deletion? _deletion;

    /// <summary>
    /// This actor deleted the list: while nothing was added since (the state is empty and has no
    /// incarnation), stats say the list is deleted rather than empty.
    /// </summary>
    private bool _deletedSince;

    private void StartDelete(DeleteList request)
    {
        _deletion = new Deletion(!_state.IsEmpty || _hole is not null);
        _deletion.Requesters.Add(Sender);
        if (!_settings.Durable)
        {
            // Nothing is journaled: nothing to delete but the state.
            Deleted();
            return;
        }

        // Durable, even with nothing journaled: the journal's delete checks that this node
        // still holds the list (another may have recovered it and written since).

        Become(Deleting);
        DeleteWhenWritten();
    }

    private void Deleting()
    {
        Command<DeleteList>(_ => _deletion!.Requesters.Add(Sender));
        Command<DeleteMessagesSuccess>(_ => Deleted());
        Command<DeleteMessagesFailure>(failure => DeleteFailed(failure.Cause));
        CommandAny(_ => Stash.Stash());
    }

    /// <summary>
    /// Once no write is in flight, deletes every event written (the last one included). An
    /// incarnation being journaled (a producer's resume, <c>PersistAsync</c>) is a write too:
    /// <c>LastSequenceNr</c> counts only the events the journal confirmed, so a delete sent
    /// before it would leave it in the journal, and the list loaded again would take it back.
    /// </summary>
    private void DeleteWhenWritten()
    {
        if (_deletion is { Started: false } deletion && _pending.Count == 0 && _deferred == 0)
        {
            deletion.Started = true;
            DeleteMessages(LastSequenceNr);
        }
    }

    private void Deleted()
    {
        var deletion = _deletion!;
        _state.Clear();
        _hole = null;
        _deletedSince = true;
        var deleted = new ListDeleted { List = _name, Existed = deletion.Existed };
        _metrics.Followers(-_followers.Count);
        _followers.TellAll(deleted);
        foreach (var requester in deletion.Requesters)
        {
            requester.Tell(deleted);
        }

        _log.Info("Deleted list {0}{1}", _name, deletion.Existed ? string.Empty : " (it was empty)");
        EndDelete();
    }

    private void DeleteFailed(Exception cause)
    {
        if (cause is JournalFencedException)
        {
            // Another node recovered the list since: its delete is refused, and this copy answers nothing more.
            LostToAnotherNode();
            return;
        }

        // Whether the journal deleted the events is not known (a connection lost at the commit
        // fails a delete that took place): the copy stops, as after a failed write, and the
        // list is loaded again from the journal on its next request, whatever it holds. The
        // requests that waited for the delete go back to the parent, which holds them for it.
        var why = cause.GetBaseException().Message;
        _log.Error("Deleting list {0} failed: the journal could not delete its events ({1}); the list stops and is loaded again from the journal on its next request",
            _name, why);
        AskParentToHold();
        RefuseInFlight($"the journal could not delete its events ({why}); the list is loaded again from the journal: run delete again");
        _deletion = null;
        Become(Passivating);
        Stash.UnstashAll();
    }

    private void EndDelete()
    {
        _deletion = null;
        Become(_hole is null ? Ready : Broken);
        Stash.UnstashAll();
        ArmIdleCheck();
        StopIfDrained();
    }

    /// <summary>A delete in progress: who asked, whether the list held anything, whether the journal was asked yet.</summary>
    private sealed class Deletion(bool existed)
    {
        public bool Existed { get; } = existed;

        public List<IActorRef> Requesters { get; } = [];

        public bool Started { get; set; }
    }
}
