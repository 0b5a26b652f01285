using Akka.Actor;
using Akka.Event;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator;

/// <summary>
/// The aggregator's entry point (<c>/user/lists</c>): routes every request to the actor
/// that owns the named list, creating it on the first append. In memory, reads of a list
/// that does not exist are answered here, as an empty list, without creating anything;
/// with a journal every request starts the list's actor, which recovers what the journal
/// holds. Requests for a list are held while its actor recovers (and answered UNAVAILABLE
/// if the journal cannot load it) and while an empty list's actor stops (passivation).
/// </summary>
public sealed class ListsActor : ReceiveActor
{
    private readonly ListSettings _settings;
    private readonly AggregatorMetrics _metrics;
    private readonly TimeProvider? _clock;
    private readonly Dictionary<string, Entry> _lists = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _names = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _children;

    public ListsActor(ListSettings settings, AggregatorMetrics metrics, TimeProvider? clock = null)
    {
        _settings = settings;
        _metrics = metrics;
        _clock = clock;
        Receive<AppendBatch>(m => Route(m.List, m, create: true));
        Receive<GetResumePosition>(m => Route(m.List, m, create: _settings.Durable));
        Receive<GetLength>(m => Route(m.List, m, create: _settings.Durable));
        Receive<GetRange>(m => Route(m.List, m, create: m.Wait || _settings.Durable));
        Receive<DeleteList>(m => Route(m.List, m, create: _settings.Durable));
        Receive<GetListStats>(m => Route(m.List, m, create: _settings.Durable));
        Receive<GetStats>(Stats);
        Receive<ListRecovered>(_ => Recovered());
        Receive<ListRecoveryFailed>(m => WithEntry(Sender, entry => entry.Failure = m.Reason));
        Receive<Passivate>(_ => StartPassivation());
        Receive<PassivationCancelled>(_ => WithEntry(Sender, Release));
        Receive<ListStopping>(_ => WithEntry(Sender, entry =>
        {
            // A failed write stops the list: hold its requests for the actor that will reload it.
            entry.Held ??= [];
            entry.Passivating = true;
        }));
        Receive<Terminated>(Forget);
    }

    /// <param name="clock">the lists' clock (producer retention, follow waits); the system's by default.</param>
    public static Props Props(ListSettings settings, AggregatorMetrics? metrics = null, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ListsActor(settings, metrics ?? new AggregatorMetrics(), clock));

    /// <summary>
    /// A list actor that throws keeps its state and goes on: every handler validates before
    /// it changes anything, and restarting would empty an in-memory list.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(Decider.From(Directive.Resume));

    private void Route(string name, object message, bool create) => Route(name, message, create, Sender);

    private void Route(string name, object message, bool create, IActorRef sender)
    {
        if (Names.Check(name, "list name") is { } badName)
        {
            Refuse(message, Refusal.InvalidName, badName, sender);
            return;
        }

        if (_lists.TryGetValue(name, out var entry))
        {
            if (entry.Held is { } held)
            {
                held.Add((message, sender));
            }
            else
            {
                entry.Actor.Tell(message, sender);
            }

            return;
        }

        if (!create)
        {
            sender.Tell(EmptyAnswer(message));
            return;
        }

        if (_lists.Count >= _settings.MaxLists)
        {
            Refuse(message, Refusal.TooManyLists,
                $"the aggregator already holds {_lists.Count} lists; the limit is {_settings.MaxLists} (max-lists)", sender);
            return;
        }

        // Each actor of a name gets its own actor name: the previous one may still be stopping.
        var actor = Context.ActorOf(ListActor.Props(name, _settings, _metrics, _clock), $"{name}~{++_children}");
        Context.Watch(actor);
        _lists[name] = new Entry(actor) { Held = [(message, sender)] };
        _names[actor] = name;
        _metrics.ListStarted();
    }

    /// <summary>Lists per stats page: a page stays far below the transport's frame.</summary>
    internal const int StatsPage = 500;

    /// <summary>One page of the lists held now, in name order, gathered by a <see cref="StatsCollector"/>.</summary>
    private void Stats(GetStats request)
    {
        var names = _lists.Keys.Where(name => string.CompareOrdinal(name, request.After) > 0)
            .Order(StringComparer.Ordinal).Take(StatsPage + 1).ToList();
        var page = names.Take(StatsPage).Select(name => (_lists[name].Actor, name)).ToList();
        var node = ((ExtendedActorSystem)Context.System).Provider.DefaultAddress.ToString();
        Context.ActorOf(StatsCollector.Props(page, names.Count > StatsPage, Sender, node, TimeSpan.FromSeconds(5)));
    }

    /// <summary>What an empty list answers, for a list that does not exist in memory.</summary>
    private object EmptyAnswer(object request) => request switch
    {
        GetResumePosition m when _settings.WasDeleted(m.Incarnation, 0) => new RequestRefused
        {
            List = m.List,
            Reason = Refusal.ListDeleted,
            Message = $"list '{m.List}' was deleted",
        },
        GetResumePosition m => new ResumePosition { List = m.List, Producer = m.Producer },
        GetLength m => new Length { List = m.List },
        GetRange m => new ItemRange { List = m.List, From = m.From },
        DeleteList m => new ListDeleted { List = m.List },
        GetListStats m => new ListStats { List = m.List, Version = ProductInfo.Version },
        _ => throw new ArgumentException($"no empty answer to {request.GetType().Name}", nameof(request)),
    };

    /// <summary>The list's actor has recovered: give it what was held for it.</summary>
    private void Recovered() => WithEntry(Sender, Release);

    private void Release(Entry entry)
    {
        var held = entry.Held;
        entry.Held = null;
        entry.Passivating = false;
        foreach (var (message, sender) in held ?? [])
        {
            entry.Actor.Tell(message, sender);
        }
    }

    /// <summary>An empty list asks to stop: hold its requests, and let it stop unless one arrived meanwhile.</summary>
    private void StartPassivation() => WithEntry(Sender, entry =>
    {
        if (entry.Held is null)
        {
            entry.Held = [];
            entry.Passivating = true;
            entry.Actor.Tell(StopList.Instance);
        }
    });

    private void WithEntry(IActorRef actor, Action<Entry> action)
    {
        if (_names.TryGetValue(actor, out var name) && _lists.TryGetValue(name, out var entry) && entry.Actor.Equals(actor))
        {
            action(entry);
        }
    }

    private void Forget(Terminated terminated)
    {
        if (!_names.Remove(terminated.ActorRef, out var name)
            || !_lists.TryGetValue(name, out var entry) || !entry.Actor.Equals(terminated.ActorRef))
        {
            return;
        }

        _lists.Remove(name);
        _metrics.ListStopped();
        var held = entry.Held ?? [];
        if (entry.Passivating)
        {
            // Stopped as asked, or after a journal failure it announced: what arrived meanwhile
            // goes to a new actor for the name.
            foreach (var (message, sender) in held)
            {
                Self.Tell(message, sender);
            }

            return;
        }

        if (held.Count > 0 || entry.Failure is not null)
        {
            var why = $"list '{name}' could not be loaded from the journal: {entry.Failure ?? "its actor stopped"}; try again later";
            _log.Warning("Refusing {0} requests for list {1}: {2}", held.Count, name, why);
            foreach (var (message, sender) in held)
            {
                Refuse(message, Refusal.Unavailable, why, sender);
            }
        }
    }

    private void Refuse(object request, Refusal reason, string text, IActorRef sender)
    {
        _metrics.Refused(reason);
        if (reason != Refusal.Unavailable)
        {
            _log.Warning("Refused a request from {0}: {1}", sender.Path.Address, text);
        }

        sender.Tell(RefusalOf(request, reason, text));
    }

    /// <summary>The refusal that answers <paramref name="request"/>.</summary>
    internal static object RefusalOf(object request, Refusal reason, string text) => request switch
    {
        AppendBatch m => new AppendRefused
        {
            List = m.List,
            Producer = m.Producer,
            FirstOffset = m.FirstOffset,
            Reason = reason,
            Message = text,
        },
        _ => new RequestRefused { List = ListOf(request), Reason = reason, Message = text },
    };

    private static string ListOf(object request) => request switch
    {
        GetResumePosition m => m.List,
        GetLength m => m.List,
        GetRange m => m.List,
        DeleteList m => m.List,
        GetListStats m => m.List,
        _ => string.Empty,
    };

    /// <summary>
    /// One list's actor. <see cref="Held"/> is non-null while requests wait for it: until it
    /// has recovered, and while it stops after asking to (<see cref="Passivating"/>).
    /// </summary>
    private sealed class Entry(IActorRef actor)
    {
        public IActorRef Actor { get; } = actor;

        public List<(object Message, IActorRef Sender)>? Held { get; set; }

        public bool Passivating { get; set; }

        public string? Failure { get; set; }
    }

    /// <summary>list -> lists: recovery is complete; requests may flow.</summary>
    public sealed class ListRecovered : INoSerializationVerificationNeeded
    {
        public static readonly ListRecovered Instance = new();
    }

    /// <summary>list -> lists: the journal could not load the list; the actor stops.</summary>
    public sealed record ListRecoveryFailed(string Reason) : INoSerializationVerificationNeeded;

    /// <summary>list -> lists: the list is empty and idle; stop routing to it.</summary>
    public sealed class Passivate : INoSerializationVerificationNeeded
    {
        public static readonly Passivate Instance = new();
    }

    /// <summary>lists -> list: nothing more will be routed to you; stop if you are still empty.</summary>
    public sealed class StopList : INoSerializationVerificationNeeded
    {
        public static readonly StopList Instance = new();
    }

    /// <summary>list -> lists: I stop after a journal failure; hold my requests for the next actor of the name.</summary>
    public sealed class ListStopping : INoSerializationVerificationNeeded
    {
        public static readonly ListStopping Instance = new();
    }

    /// <summary>list -> lists: a request made the list non-empty before it could stop: route to it again.</summary>
    public sealed class PassivationCancelled : INoSerializationVerificationNeeded
    {
        public static readonly PassivationCancelled Instance = new();
    }
}
