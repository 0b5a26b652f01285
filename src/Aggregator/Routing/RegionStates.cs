using Aggregator.Lists;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;

namespace Aggregator.Routing;

/// <summary>
/// Asks the shard region of every member for the lists it holds now, and hands the
/// gateway one page of their names; a region that does not answer in time is left out.
/// </summary>
internal sealed class RegionStates : ReceiveActor, IWithTimers
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
            Context.ActorSelection(new RootActorPath(member.Address) / "system" / "sharding" / ListsGateway.RegionName)
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
        var page = _names.Take(ListRouting.StatsPage + 1).ToList();
        var more = page.Count > ListRouting.StatsPage;
        Context.Parent.Tell(new ListsGateway.StatsPage(more ? page[..ListRouting.StatsPage] : page, more, _requester));
        Context.Stop(Self);
    }

    private sealed class TimeUp : INoSerializationVerificationNeeded
    {
        public static readonly TimeUp Instance = new();
    }
}
