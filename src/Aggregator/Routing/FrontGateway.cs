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
    private long _made;

    /// <param name="cluster">the node's cluster system, where relays live.</param>
    /// <param name="entry">the cluster system's <c>/user/lists</c> (<see cref="ListsGateway"/>).</param>
    public FrontGateway(ActorSystem cluster, IActorRef entry, AggregatorMetrics metrics)
    {
        _cluster = cluster;
        _entry = entry;
        _metrics = metrics;
        Receive<IListRequest>(m =>
        {
            // Checked here too: a bad name never crosses into the cluster's system.
            if (ListRouting.NameIsValid(m, Sender, _metrics, _log))
            {
                Forward(m);
            }
        });
        Receive<GetStats>(Forward);
        Receive<Relay.Idle>(idle =>
        {
            if (_relays.TryGetValue(idle.Worker, out var relay) && relay.Equals(idle.Relay))
            {
                _relays.Remove(idle.Worker);
            }
        });
    }

    public static Props Props(ActorSystem cluster, IActorRef entry, AggregatorMetrics metrics) =>
        Akka.Actor.Props.Create(() => new FrontGateway(cluster, entry, metrics));

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
