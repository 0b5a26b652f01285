using Aggregator.Lists;
using Akka.Actor;
using Akka.Event;
using Protocol;
using Protocol.Messages;

namespace Aggregator.Routing;

/// <summary>
/// The workers' door of a cluster node: <c>/user/lists</c> of the node's worker-facing actor
/// system (<see cref="ActorNames.AggregatorSystem"/>, untrusted mode on, its own port and
/// certificates), the only actor a worker can reach. It checks the list name and hands the
/// request to the node's cluster system (same process, <see cref="ActorNames.ClusterSystem"/>),
/// with a <see cref="Relay"/> as its sender: the list, on whichever node holds it, answers the
/// relay over the nodes' own connections, and the relay passes the answer to the worker
/// through this system. So a worker's connection never reaches the cluster's system messages,
/// and the cluster's connections never reach a worker.
/// </summary>
public sealed class FrontGateway : ReceiveActor
{
    private readonly ActorSystem _cluster;
    private readonly IActorRef _entry;
    private readonly AggregatorMetrics _metrics;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, IActorRef> _relays = [];
    private readonly int _maxRelays;
    private long _made;

    /// <param name="cluster">the node's cluster system, where relays live.</param>
    /// <param name="entry">the cluster system's <c>/user/lists</c> (<see cref="ListsGateway"/>).</param>
    /// <param name="maxRelays">
    /// relays alive at once at most: a request that would need one more is refused UNAVAILABLE
    /// (it asks again), so that a peer sending from ever new actor paths cannot fill memory.
    /// </param>
    public FrontGateway(ActorSystem cluster, IActorRef entry, AggregatorMetrics metrics, int maxRelays)
    {
        _cluster = cluster;
        _entry = entry;
        _metrics = metrics;
        _maxRelays = maxRelays;
        Receive<IListRequest>(m =>
        {
            // Checked here too: a bad name never crosses into the cluster's system.
            if (!ListRouting.NameIsValid(m, Sender, _metrics, _log))
            {
                return;
            }

            if (Full(Sender))
            {
                Refusals.Refuse(m, Refusal.Unavailable, $"this node relays for {_relays.Count} workers' actors at once, the most it does; ask again", Sender, _metrics, _log);
                return;
            }

            Forward(m);
        });
        Receive<GetStats>(m =>
        {
            if (Full(Sender))
            {
                _log.Warning("Dropped a stats request from {0}: this node relays for {1} workers' actors at once, the most it does", Sender.Path, _relays.Count);
                return;
            }

            Forward(m);
        });
        Receive<Relay.Idle>(idle =>
        {
            if (_relays.TryGetValue(idle.Worker, out var relay) && relay.Equals(idle.Relay))
            {
                _relays.Remove(idle.Worker);
            }
        });
    }

    public static Props Props(ActorSystem cluster, IActorRef entry, AggregatorMetrics metrics, int maxRelays = 100_000) =>
        Akka.Actor.Props.Create(() => new FrontGateway(cluster, entry, metrics, maxRelays));

    private bool Full(IActorRef worker) => !_relays.ContainsKey(worker) && _relays.Count >= _maxRelays;

    private void Forward(object message) => _entry.Tell(message, RelayFor(Sender));

    /// <summary>The relay of <paramref name="worker"/>: one a producer (kept while it appends), one an asked request.</summary>
    private IActorRef RelayFor(IActorRef worker)
    {
        if (!_relays.TryGetValue(worker, out var relay))
        {
            var oneAnswer = worker.Path.Elements.Count > 0 && worker.Path.Elements[0] == "temp";
            // In the cluster system, on purpose: the lists answer it over the nodes' connections.
#pragma warning disable AK1008
            relay = _cluster.ActorOf(Relay.Props(worker, Self, oneAnswer), $"relay-{++_made}");
#pragma warning restore AK1008
            _relays[worker] = relay;
        }

        return relay;
    }
}

/// <summary>
/// Lives in a cluster node's cluster system, for one worker's actor: what the lists answer to
/// it, it passes to that worker through the node's worker-facing system. An asked request's
/// relay stops after its one answer; a producer's after two idle minutes.
/// </summary>
public sealed class Relay : ReceiveActor
{
    public Relay(IActorRef worker, IActorRef front, bool oneAnswer)
    {
        Receive<ReceiveTimeout>(_ => Done());
        ReceiveAny(answer =>
        {
            worker.Tell(answer, front);
            if (oneAnswer)
            {
                Done();
            }
        });
        SetReceiveTimeout(oneAnswer ? TimeSpan.FromMinutes(1) : TimeSpan.FromMinutes(2));

        void Done()
        {
            front.Tell(new Idle(worker, Self));
            Context.Stop(Self);
        }
    }

    public static Props Props(IActorRef worker, IActorRef front, bool oneAnswer) =>
        Akka.Actor.Props.Create(() => new Relay(worker, front, oneAnswer));

    /// <summary>relay -> front: the relay of <paramref name="Worker"/> stops; the next request makes another.</summary>
    public sealed record Idle(IActorRef Worker, IActorRef Relay) : INoSerializationVerificationNeeded;
}
