using Aggregator.Lists;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Event;
using Protocol;
using Protocol.Messages;

namespace Aggregator.Routing;

/// <summary>
/// The entry point of a cluster node (<c>/user/lists</c>, the same path as alone): checks
/// the list name and forwards each request to the shard region, which delivers it to the
/// list's actor on whichever node holds it; the reply goes from there to the worker. Holds
/// no state, so every node is an equal contact point.
/// </summary>
public sealed class ListsGateway : ReceiveActor
{
    /// <summary>The shard region's type name: its actor is <c>/system/sharding/lists</c> on every node.</summary>
    public const string RegionName = "lists";

    private readonly IActorRef _region;
    private readonly AggregatorMetrics _metrics;
    private readonly int _statsBudget;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Once this node shuts down: another Up node's shard region, which every request goes to instead.</summary>
    private ActorSelection? _elsewhere;

    /// <param name="statsBudget">a stats page's bytes at most: a read page's (<see cref="ListSettings.PageMaxBytes"/>).</param>
    public ListsGateway(IActorRef region, AggregatorMetrics metrics, int statsBudget)
    {
        _region = region;
        _metrics = metrics;
        _statsBudget = statsBudget;
        Receive<IListRequest>(Forward);
        Receive<Leaving>(_ => Leave());
        Receive<GetStats>(m => Context.ActorOf(RegionStates.Props(m.After, Sender, TimeSpan.FromSeconds(5), _statsBudget)));
        Receive<StatsPage>(page => Context.ActorOf(StatsCollector.Props(page.Names.Select(name => (_region, name)).ToList(),
            page.More, page.Requester, Cluster.Get(Context.System).SelfAddress.ToString(), TimeSpan.FromSeconds(5), page.SilentNodes)));
    }

    public static Props Props(IActorRef region, AggregatorMetrics metrics, int statsBudget = 80_000) =>
        Akka.Actor.Props.Create(() => new ListsGateway(region, metrics, statsBudget));

    /// <summary>
    /// When this node shuts down (SIGTERM, or downed), the first thing it does is tell the
    /// gateway, which from then on sends every request to another Up node's shard region: this
    /// node's shard region hands its shards over and then stops, and requests that reached it
    /// meanwhile would be lost, costing their workers an ack-timeout each. The region, not that
    /// node's gateway, which may be leaving too (two nodes stopped at once) and would send them
    /// back: the two gateways would pass them to and fro until one stopped. Workers that use
    /// this node as their contact go on unaware until its connection closes; then they move
    /// to their next contact themselves.
    /// </summary>
    protected override void PreStart()
    {
        var self = Self;
        CoordinatedShutdown.Get(Context.System).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "lists-gateway-elsewhere", () =>
        {
            self.Tell(Leaving.Instance);
            return Task.FromResult(Akka.Done.Instance);
        });
    }

    private void Leave()
    {
        var cluster = Cluster.Get(Context.System);
        var state = cluster.State;
        var other = state.Members.FirstOrDefault(m => m.Status == MemberStatus.Up && !m.Address.Equals(cluster.SelfAddress) && !state.Unreachable.Contains(m));
        if (other is null)
        {
            _log.Info("This node shuts down and no other node is up: requests stay with its own shard region");
            return;
        }

        _elsewhere = Context.ActorSelection(new RootActorPath(other.Address) / "system" / "sharding" / RegionName);
        _log.Info("This node shuts down: requests that reach it go to {0} from now on", other.Address);
    }

    private void Forward(IListRequest message)
    {
        if (!ListRouting.NameIsValid(message, Sender, _metrics, _log))
        {
            return;
        }

        if (_elsewhere is not null)
        {
            _elsewhere.Tell(message, Sender);
        }
        else
        {
            _region.Forward(message);
        }
    }

    /// <summary>CoordinatedShutdown -> gateway: this node shuts down.</summary>
    public sealed class Leaving : INoSerializationVerificationNeeded
    {
        public static readonly Leaving Instance = new();
    }

    /// <summary><see cref="RegionStates"/> -> gateway: the names of one stats page, to gather through the region, and the nodes that did not say theirs.</summary>
    internal sealed record StatsPage(IReadOnlyList<string> Names, bool More, IActorRef Requester, IReadOnlyList<string> SilentNodes)
        : INoSerializationVerificationNeeded;
}

/// <summary>The key of the lists' shard region in the <c>ActorRegistry</c>.</summary>
public sealed class ListsRegion;

/// <summary>The key, in the <c>ActorRegistry</c>, of <c>/user/lists</c>: <see cref="LocalLists"/> alone, <see cref="ListsGateway"/> in a cluster.</summary>
public sealed class ListsEntry;
