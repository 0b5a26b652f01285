using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Event;
using Protocol;
using Protocol.Messages;

namespace Aggregator;

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
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Once this node shuts down: another Up node's gateway, which every request goes to instead.</summary>
    private ActorSelection? _elsewhere;

    public ListsGateway(IActorRef region, AggregatorMetrics metrics)
    {
        _region = region;
        _metrics = metrics;
        Receive<AppendBatch>(m => Forward(m.List, m));
        Receive<GetResumePosition>(m => Forward(m.List, m));
        Receive<GetLength>(m => Forward(m.List, m));
        Receive<GetRange>(m => Forward(m.List, m));
        Receive<DeleteList>(m => Forward(m.List, m));
        Receive<GetListStats>(m => Forward(m.List, m));
        Receive<Leaving>(_ => Leave());
        Receive<GetStats>(m => Context.ActorOf(RegionStates.Props(m.After, Sender, TimeSpan.FromSeconds(5))));
        Receive<StatsPage>(page => Context.ActorOf(StatsCollector.Props(page.Names.Select(name => (_region, name)).ToList(),
            page.More, page.Requester, Cluster.Get(Context.System).SelfAddress.ToString(), TimeSpan.FromSeconds(5))));
    }

    public static Props Props(IActorRef region, AggregatorMetrics metrics) =>
        Akka.Actor.Props.Create(() => new ListsGateway(region, metrics));

    /// <summary>Routes by list name over <paramref name="shards"/> shards; the same on every node (a stable hash).</summary>
    public static IMessageExtractor Extractor(int shards) => HashCodeMessageExtractor.Create(shards, message => message switch
    {
        AppendBatch m => m.List,
        GetResumePosition m => m.List,
        GetLength m => m.List,
        GetRange m => m.List,
        DeleteList m => m.List,
        GetListStats m => m.List,
        _ => null,
    });

    /// <summary>
    /// When this node shuts down (SIGTERM, or downed), the first thing it does is tell the
    /// gateway, which from then on sends every request to another Up node's gateway: this
    /// node's shard region hands its shards over and then stops, and requests that reached it
    /// meanwhile would be lost, costing their workers an ack-timeout each. Workers that use
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
        var other = cluster.State.Members.FirstOrDefault(m => m.Status == MemberStatus.Up && !m.Address.Equals(cluster.SelfAddress));
        if (other is null)
        {
            _log.Info("This node shuts down and no other node is up: requests stay with its own shard region");
            return;
        }

        _elsewhere = Context.ActorSelection(new RootActorPath(other.Address) / "user" / ActorNames.Lists);
        _log.Info("This node shuts down: requests that reach it go to {0} from now on", other.Address);
    }

    private void Forward(string list, object message)
    {
        if (Names.Check(list, "list name") is { } problem)
        {
            _metrics.Refused(Refusal.InvalidName);
            _log.Warning("Refused a request from {0}: {1}", Sender.Path.Address, problem);
            Sender.Tell(ListsActor.RefusalOf(message, Refusal.InvalidName, problem));
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

    /// <summary>collector -> gateway: the names of one stats page, to gather through the region.</summary>
    private sealed record StatsPage(IReadOnlyList<string> Names, bool More, IActorRef Requester) : INoSerializationVerificationNeeded;

    /// <summary>
    /// Asks the shard region of every member for the lists it holds now, and hands the
    /// gateway one page of their names; a region that does not answer in time is left out.
    /// </summary>
    private sealed class RegionStates : ReceiveActor, IWithTimers
    {
        private readonly SortedSet<string> _names = new(StringComparer.Ordinal);
        private readonly string _after;
        private readonly IActorRef _requester;
        private int _waiting;

        private readonly TimeSpan _timeout;

        public RegionStates(string after, IActorRef requester, TimeSpan timeout)
        {
            _after = after;
            _requester = requester;
            _timeout = timeout;
            Receive<CurrentShardRegionState>(state =>
            {
                foreach (var name in state.Shards.SelectMany(shard => shard.EntityIds))
                {
                    if (string.CompareOrdinal(name, _after) > 0)
                    {
                        _names.Add(name);
                    }
                }

                if (--_waiting == 0)
                {
                    Done();
                }
            });
            Receive<TimeUp>(_ => Done());
        }

        public ITimerScheduler Timers { get; set; } = null!;

        public static Props Props(string after, IActorRef requester, TimeSpan timeout) =>
            Akka.Actor.Props.Create(() => new RegionStates(after, requester, timeout));

        protected override void PreStart()
        {
            var members = Cluster.Get(Context.System).State.Members.Where(m => m.Status == MemberStatus.Up).ToList();
            foreach (var member in members)
            {
                Context.ActorSelection(new RootActorPath(member.Address) / "system" / "sharding" / RegionName)
                    .Tell(GetShardRegionState.Instance);
            }

            _waiting = members.Count;
            Timers.StartSingleTimer(nameof(TimeUp), TimeUp.Instance, _timeout);
            if (_waiting == 0)
            {
                Done();
            }
        }

        private void Done()
        {
            var page = _names.Take(ListsActor.StatsPage + 1).ToList();
            var more = page.Count > ListsActor.StatsPage;
            Context.Parent.Tell(new StatsPage(more ? page[..ListsActor.StatsPage] : page, more, _requester));
            Context.Stop(Self);
        }

        private sealed class TimeUp : INoSerializationVerificationNeeded
        {
            public static readonly TimeUp Instance = new();
        }
    }
}

/// <summary>The key of the lists' shard region in the <c>ActorRegistry</c>.</summary>
public sealed class ListsRegion;
