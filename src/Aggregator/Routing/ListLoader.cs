using System.Diagnostics;
using Aggregator.Lists;
using Aggregator.Storage;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Protocol.Messages;

namespace Aggregator.Routing;

/// <summary>
/// A journaled single node's start: loads every list the journal holds, a few at a time, by
/// asking each its length through <see cref="LocalLists"/> (which starts its actor, and the
/// actor answers once it has recovered). A restarted aggregator then answers its workers'
/// first requests at once instead of recovering each list at its first request, and stats
/// show every list from the start. Requests for a list being loaded simply wait for its
/// recovery, as they would without this. Stops when every list has answered, publishing
/// <see cref="ListsLoaded"/> on the event stream.
/// </summary>
public sealed class ListLoader : ReceiveActor, IWithTimers
{
    /// <summary>Lists recovering at once: replays run beside each other on the thread pool, and this node's requests beside them.</summary>
    public const int Parallel = 2;

    /// <summary>How long one list may take to answer before the loader goes on without it (it then loads at its next request).</summary>
    public static readonly TimeSpan ListTimeout = TimeSpan.FromMinutes(2);

    /// <summary>What every list's persistence id starts with.</summary>
    private static readonly string Prefix = ListActor.PersistenceIdOf(string.Empty);

    private readonly IActorRef _lists;
    private readonly int _maxLists;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<string> _pending = new();
    private readonly HashSet<string> _loading = new(StringComparer.Ordinal);
    private readonly Stopwatch _elapsed = new();
    private int _loaded;
    private int _failed;

    public ListLoader(IActorRef lists, int maxLists)
    {
        _lists = lists;
        _maxLists = maxLists;
        Receive<JournaledIdsFound>(Found);
        Receive<ReceiveTimeout>(_ =>
        {
            _log.Warning("The journal did not say which lists it holds within {0}; each list loads at its first request", ListTimeout);
            Context.Stop(Self);
        });
        Receive<Status.Failure>(failure =>
        {
            _log.Warning("Could not ask the journal which lists it holds ({0}); each list loads at its first request", failure.Cause.GetBaseException().Message);
            Context.Stop(Self);
        });
        Receive<Length>(length => Answered(length.List, loaded: true));
        Receive<RequestRefused>(refused => Answered(refused.List, loaded: false));
        Receive<Overdue>(overdue =>
        {
            _log.Warning("List {0} did not load within {1}; it loads at its next request", overdue.List, ListTimeout);
            Answered(overdue.List, loaded: false);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef lists, int maxLists) => Akka.Actor.Props.Create(() => new ListLoader(lists, maxLists));

    protected override void PreStart()
    {
        Context.SetReceiveTimeout(ListTimeout);
        Persistence.Instance.Apply(Context.System).JournalFor(null).Tell(new JournaledIds(Prefix));
    }

    private void Found(JournaledIdsFound found)
    {
        Context.SetReceiveTimeout(null);
        foreach (var id in found.Ids.Take(_maxLists))
        {
            _pending.Enqueue(id[Prefix.Length..]);
        }

        if (found.Ids.Count > _maxLists)
        {
            _log.Warning("The journal holds {0} lists, more than max-lists ({1}): only the first {1} load at start", found.Ids.Count, _maxLists);
        }

        _elapsed.Start();
        Next();
    }

    private void Next()
    {
        while (_loading.Count < Parallel && _pending.TryDequeue(out var name))
        {
            _loading.Add(name);
            Timers.StartSingleTimer(name, new Overdue(name), ListTimeout);
            _lists.Tell(new GetLength { List = name });
        }

        if (_loading.Count == 0)
        {
            if (_loaded + _failed > 0)
            {
                _log.Info("Loaded {0} lists from the journal in {1} ms{2}", _loaded, _elapsed.ElapsedMilliseconds,
                    _failed == 0 ? "" : $"; {_failed} more did not load (see the lines above)");
            }

            Context.System.EventStream.Publish(new ListsLoaded(_loaded, _failed));
            Context.Stop(Self);
        }
    }

    private void Answered(string name, bool loaded)
    {
        if (!_loading.Remove(name))
        {
            return; // an answer after its time-out
        }

        Timers.Cancel(name);
        if (loaded)
        {
            _loaded++;
        }
        else
        {
            _failed++;
        }

        Next();
    }

    private sealed record Overdue(string List) : INoSerializationVerificationNeeded;
}

/// <summary>Published once a <see cref="ListLoader"/> is done: how many lists loaded, and how many did not.</summary>
public sealed record ListsLoaded(int Loaded, int Failed) : INoSerializationVerificationNeeded;
