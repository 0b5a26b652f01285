using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace Aggregator.Storage;

/// <summary>
/// The lists' journal: an Akka.Persistence journal plugin over <see cref="JournalStore"/>
/// (SQLite or PostgreSQL), configured at <c>akka.persistence.journal.sql</c>. What it adds to
/// a plain SQL journal is the fence: a recovery takes the persistence id's next epoch before it
/// reads (<see cref="JournalStore.ClaimAsync"/>), and every write and delete of that actor
/// carries the epoch and commits only while it is still the persistence id's. An actor that a
/// newer recovery replaced, here or on another node, gets <see cref="JournalFencedException"/>
/// for every write from then on. Writes of every actor wait in one queue and go to the database
/// together, one transaction at a time (group commit); replays run beside them.
/// </summary>
public sealed class ListJournal : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private readonly JournalStore _store;
    private readonly JournalCodec _codec;
    private readonly int _maxGroup;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<object> _queue = new();
    private readonly Dictionary<string, (IActorRef Actor, long Epoch)> _writers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private bool _busy;

    public ListJournal(Config config)
    {
        _store = JournalStore.Create(config.GetString("provider-name", "SQLite.MS"), config.GetString("connection-string", ""));
        _codec = new JournalCodec(Context.System.Serialization);
        _maxGroup = config.GetInt("max-group-writes", 512);
        Receive<Initialized>(initialized =>
        {
            if (initialized.Failure is { } failure)
            {
                // Requests wait in the stash meanwhile; a recovery that waits too long fails on its own time-out.
                _log.Error("The journal's database cannot be used yet ({0}); trying again in 2 s", failure.GetBaseException().Message);
                Timers.StartSingleTimer(nameof(Retry), Retry.Instance, TimeSpan.FromSeconds(2));
                return;
            }

            Become(Serving);
            Stash.UnstashAll();
        });
        Receive<Retry>(_ => Initialize());
        ReceiveAny(_ => Stash.Stash());
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Initialize();

    protected override void PostStop()
    {
        _stopping.Cancel();
        _ = _store.DisposeAsync().AsTask();
    }

    /// <summary>Nothing can be journaled before the tables exist: until then requests wait in the stash.</summary>
    private void Initialize() =>
        Run(() => _store.InitializeAsync(_stopping.Token)).PipeTo(Self, success: () => new Initialized(null), failure: e => new Initialized(e));

    /// <summary>
    /// Database work runs on the thread pool, never on the actor's thread: SQLite's "async"
    /// calls complete synchronously, fsync included.
    /// </summary>
    private static Task<T> Run<T>(Func<Task<T>> work) => Task.Run(work);

    private static Task Run(Func<Task> work) => Task.Run(work);

    private void Serving()
    {
        Receive<WriteMessages>(Write);
        Receive<ReplayMessages>(Enqueue);
        Receive<DeleteMessagesTo>(Enqueue);
        Receive<Done>(Completed);
        Receive<ConfirmHolder>(Confirm);
        Receive<JournaledIds>(query =>
        {
            // A read beside the writes, like a replay.
            Run(() => _store.PersistenceIdsAsync(query.Prefix, _stopping.Token)).PipeTo(Sender,
                success: ids => new JournaledIdsFound(ids));
        });
        Receive<Terminated>(terminated =>
        {
            foreach (var (id, writer) in _writers.Where(w => w.Value.Actor.Equals(terminated.ActorRef)).ToList())
            {
                _writers.Remove(id);
            }
        });
    }

    private void Write(WriteMessages message)
    {
        var prepared = _codec.Prepare(message, id => _writers.TryGetValue(id, out var writer) && writer.Actor.Equals(message.PersistentActor)
            ? writer.Epoch
            : null);
        foreach (var id in prepared.Rejected)
        {
            // The actor stops at the rejection, but Akka sends its next batch on the batch's own
            // success, before the actor sees the rejection: fenced, it cannot land after the hole.
            _writers.Remove(id);
        }
        if (!prepared.NeedsDatabase)
        {
            // Only answers that wait for earlier writes (DeferAsync), and none is in flight for this actor.
            prepared.Reply(fenced: null, failure: null);
            return;
        }

        Enqueue(prepared);
    }

    /// <summary>
    /// Whether the asking actor still writes its persistence id: it is the id's last recovery
    /// here, and no recovery on another node has taken the next epoch since. A read beside the
    /// writes, like a replay.
    /// </summary>
    private void Confirm(ConfirmHolder check)
    {
        if (!_writers.TryGetValue(check.PersistenceId, out var writer) || !writer.Actor.Equals(check.Actor))
        {
            Sender.Tell(new HolderReplaced(check.Started));
            return;
        }

        Run(() => _store.EpochAsync(check.PersistenceId, _stopping.Token)).PipeTo(Sender,
            success: epoch => epoch == writer.Epoch ? new HolderConfirmed(check.Started) : new HolderReplaced(check.Started),
            failure: e => new HolderCheckFailed(check.Started, e.GetBaseException().Message));
    }

    private void Enqueue(object operation)
    {
        _queue.Enqueue(operation);
        Next();
    }

    /// <summary>Starts the next database step when none runs: a claim and its replay's start, a delete, or every queued write at once.</summary>
    private void Next()
    {
        if (_busy || _queue.Count == 0)
        {
            return;
        }

        _busy = true;
        var token = _stopping.Token;
        switch (_queue.Peek())
        {
            case ReplayMessages replay:
                _queue.Dequeue();
                Run(() => _store.ClaimAsync(replay.PersistenceId, token)).PipeTo(Self,
                    success: claimed => new Done(replay, claimed, null, null),
                    failure: e => new Done(replay, null, null, e));
                return;
            case DeleteMessagesTo delete:
                _queue.Dequeue();
                var epoch = _writers.TryGetValue(delete.PersistenceId, out var writer) && writer.Actor.Equals(delete.PersistentActor)
                    ? writer.Epoch
                    : -1;
                Run(() => _store.DeleteToAsync(delete.PersistenceId, epoch, delete.ToSequenceNr, token)).PipeTo(Self,
                    success: deleted => new Done(delete, null, deleted ? null : new JournalFencedException(delete.PersistenceId), null),
                    failure: e => new Done(delete, null, null, e));
                return;
            default:
                var group = new List<PreparedWrite>();
                while (group.Count < _maxGroup && _queue.TryPeek(out var next) && next is PreparedWrite write)
                {
                    group.Add(write);
                    _queue.Dequeue();
                }

                var writes = group.SelectMany(w => w.Writes).ToList();
                Run(() => _store.WriteAsync(writes, token)).PipeTo(Self,
                    success: fenced => new Done(group, fenced, null, null),
                    failure: e => new Done(group, null, null, e));
                return;
        }
    }

    private void Completed(Done done)
    {
        _busy = false;
        switch (done.Operation)
        {
            case ReplayMessages replay when done.Failure is null:
                var (epoch, highest) = ((long, long))done.Result!;
                if (_writers.TryGetValue(replay.PersistenceId, out var previous) && !previous.Actor.Equals(replay.PersistentActor))
                {
                    _log.Debug("{0} is recovered by a new actor: the one before it can write no more", replay.PersistenceId);
                }

                _writers[replay.PersistenceId] = (replay.PersistentActor, epoch);
                Context.Watch(replay.PersistentActor);
                _ = Run(() => ReplayAsync(replay, highest));
                break;
            case ReplayMessages replay:
                replay.PersistentActor.Tell(new ReplayMessagesFailure(done.Failure));
                break;
            case DeleteMessagesTo delete:
                var problem = done.Failure ?? done.Refusal;
                delete.PersistentActor.Tell(problem is null
                    ? new DeleteMessagesSuccess(delete.ToSequenceNr)
                    : new DeleteMessagesFailure(problem, delete.ToSequenceNr));
                break;
            case List<PreparedWrite> group:
                var fenced = done.Result as IReadOnlySet<string>;
                foreach (var write in group)
                {
                    write.Reply(fenced, done.Failure);
                }

                break;
        }

        Next();
    }

    /// <summary>Sends the events up to <paramref name="highest"/> to the recovering actor, then the end of its recovery.</summary>
    private async Task ReplayAsync(ReplayMessages replay, long highest)
    {
        var actor = replay.PersistentActor;
        try
        {
            var to = Math.Min(replay.ToSequenceNr, highest);
            if (replay.FromSequenceNr <= to && replay.Max > 0)
            {
                await _store.ReplayAsync(replay.PersistenceId, replay.FromSequenceNr, to, replay.Max,
                    row => actor.Tell(new ReplayedMessage(_codec.Read(replay.PersistenceId, row)), ActorRefs.NoSender), _stopping.Token);
            }

            actor.Tell(new RecoverySuccess(highest));
        }
        catch (Exception e)
        {
            actor.Tell(new ReplayMessagesFailure(e));
        }
    }

    /// <summary>A database step ended: its operation, and what it gave or why it failed.</summary>
    private sealed record Done(object Operation, object? Result, Exception? Refusal, Exception? Failure) : INoSerializationVerificationNeeded;

    private sealed class Retry : INoSerializationVerificationNeeded
    {
        public static readonly Retry Instance = new();
    }

    private sealed record Initialized(Exception? Failure) : INoSerializationVerificationNeeded;
}

/// <summary>Asks the lists' journal which persistence ids starting with <see cref="Prefix"/> hold events: <see cref="JournaledIdsFound"/>, or a <see cref="Status.Failure"/>.</summary>
public sealed record JournaledIds(string Prefix) : INoSerializationVerificationNeeded;

/// <summary>The persistence ids that hold events, in ordinal order.</summary>
public sealed record JournaledIdsFound(IReadOnlyList<string> Ids) : INoSerializationVerificationNeeded;

/// <summary>
/// list actor -> lists' journal: does <see cref="Actor"/> still write <see cref="PersistenceId"/>?
/// Answered <see cref="HolderConfirmed"/>, <see cref="HolderReplaced"/> or <see cref="HolderCheckFailed"/>,
/// each with <see cref="Started"/> (the asker's clock when it asked).
/// </summary>
public sealed record ConfirmHolder(string PersistenceId, IActorRef Actor, long Started) : INoSerializationVerificationNeeded;

/// <summary>The actor held its list when the journal looked, after <see cref="Started"/>.</summary>
public sealed record HolderConfirmed(long Started) : INoSerializationVerificationNeeded;

/// <summary>A newer recovery of the list, on this node or another, took it over: the asker can never write it again.</summary>
public sealed record HolderReplaced(long Started) : INoSerializationVerificationNeeded;

/// <summary>The journal could not look (its database failed).</summary>
public sealed record HolderCheckFailed(long Started, string Problem) : INoSerializationVerificationNeeded;

/// <summary>
/// A write of a list whose actor no longer owns it: a newer recovery of the list, on this node
/// or another, took the next epoch. Nothing of the write was committed.
/// </summary>
public sealed class JournalFencedException(string persistenceId)
    : Exception($"{persistenceId} is written by a newer incarnation of its actor (on this node or another): this one can no longer write")
{
    public string PersistenceId { get; } = persistenceId;
}
