using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Aggregator.Lists;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Routing;

/// <summary>
/// A single node's entry point (<c>/user/lists</c>): one child per list, found by the same
/// <see cref="ListMessageExtractor"/> as the cluster's shard region, and the same passivation
/// protocol as a shard: a list that asks to stop (<see cref="Passivate"/>) gets its stop
/// message, requests for it are held until it has stopped, then go to a new actor of the list.
/// So a <see cref="ListActor"/> never knows which of the two parents it has.
/// </summary>
/// <remarks>
/// What this does that a plain child-per-entity parent does not, and why it stays: the
/// passivation hold above (a shard does it in a cluster); <c>max-lists</c>; the name check
/// (as the cluster's gateway); and, in memory only, reads of a list that does not exist answered
/// as an empty list's without starting an actor, so that reading creates nothing.
/// </remarks>
public sealed class LocalLists : ReceiveActor
{
    private readonly ListSettings _settings;
    private readonly AggregatorMetrics _metrics;
    private readonly Func<string, Props> _listProps;
    private readonly IMessageExtractor _extractor;
    private readonly Dictionary<string, IActorRef> _lists = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _names = [];
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _held = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _children;

    public LocalLists(ListSettings settings, AggregatorMetrics metrics, Func<string, Props> listProps, IMessageExtractor extractor)
    {
        _settings = settings;
        _metrics = metrics;
        _listProps = listProps;
        _extractor = extractor;
        Receive<Passivate>(passivate => StartPassivation(Sender, passivate.StopMessage));
        Receive<Terminated>(OnTerminated);
        Receive<GetStats>(Stats);
        Receive<IListRequest>(request => Route(request, Sender));
    }

    public static Props Props(ListSettings settings, AggregatorMetrics metrics, Func<string, Props> listProps, IMessageExtractor extractor) =>
        Akka.Actor.Props.Create(() => new LocalLists(settings, metrics, listProps, extractor));

    /// <summary>Journaled, with load-lists-at-start: every list the journal holds starts loading now (<see cref="ListLoader"/>).</summary>
    protected override void PreStart()
    {
        if (_settings.Durable && _settings.LoadAtStart)
        {
            Context.ActorOf(ListLoader.Props(Self, _settings.MaxLists), "loader");
        }
    }

    /// <summary>
    /// A list actor that throws keeps its state and goes on: every handler validates before
    /// it changes anything, and restarting would empty an in-memory list.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(Decider.From(Directive.Resume));

    private void Route(IListRequest request, IActorRef sender)
    {
        if (!ListRouting.NameIsValid(request, sender, _metrics, _log))
        {
            return;
        }

        var name = _extractor.EntityId(request)!;
        var message = _extractor.EntityMessage(request)!;
        if (_held.TryGetValue(name, out var held))
        {
            held.Add((message, sender));
        }
        else if (_lists.TryGetValue(name, out var list))
        {
            list.Tell(message, sender);
        }
        else if (!_settings.Durable && !Creates(request))
        {
            sender.Tell(EmptyAnswer(request));
        }
        else if (_lists.Count >= _settings.MaxLists)
        {
            Refusals.Refuse(request, Refusal.TooManyLists,
                $"the aggregator already holds {_lists.Count} lists; the limit is {_settings.MaxLists} (max-lists)", sender, _metrics, _log);
        }
        else
        {
            // Each actor of a name gets its own actor name: the previous one may still be stopping.
            var actor = Context.ActorOf(_listProps(name), $"{name}~{++_children}");
            Context.Watch(actor);
            _lists[name] = actor;
            _names[actor] = name;
            actor.Tell(message, sender);
        }
    }

    /// <summary>In memory, what starts a list: an append, or a follower waiting for its first item.</summary>
    private static bool Creates(IListRequest request) => request is AppendBatch or GetRange { Wait: true };

    /// <summary>What an empty list answers, for a list that does not exist in memory.</summary>
    private object EmptyAnswer(IListRequest request) => request switch
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

    /// <summary>A list asks to stop: hold its requests from now on, and give it its stop message.</summary>
    private void StartPassivation(IActorRef list, object stopMessage)
    {
        if (_names.TryGetValue(list, out var name) && !_held.ContainsKey(name))
        {
            _held[name] = [];
            list.Tell(stopMessage);
        }
    }

    /// <summary>A list stopped: what was held for it goes to a new actor of the list.</summary>
    private void OnTerminated(Terminated terminated)
    {
        if (!_names.Remove(terminated.ActorRef, out var name))
        {
            return;
        }

        _lists.Remove(name);
        if (_held.Remove(name, out var held))
        {
            foreach (var (message, sender) in held)
            {
                Route((IListRequest)message, sender);
            }
        }
    }

    /// <summary>One page of the lists held now, in name order, gathered by a <see cref="StatsCollector"/>.</summary>
    private void Stats(GetStats request)
    {
        var node = ((ExtendedActorSystem)Context.System).Provider.DefaultAddress.ToString();
        var nodeBytes = System.Text.Encoding.UTF8.GetByteCount(_settings.Node.Length > 0 ? _settings.Node : node);
        var (names, more) = ListRouting.StatsPageOf(
            _lists.Keys.Where(name => string.CompareOrdinal(name, request.After) > 0).Order(StringComparer.Ordinal), _settings.PageMaxBytes, nodeBytes);
        Context.ActorOf(StatsCollector.Props(names.Select(name => (_lists[name], name)).ToList(), more, Sender, node, TimeSpan.FromSeconds(5)));
    }
}
