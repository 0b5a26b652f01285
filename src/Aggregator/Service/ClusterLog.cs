using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace Aggregator.Service;

/// <summary>
/// Logs the cluster's membership as it changes, one line a change: a node up, unreachable,
/// reachable again, leaving, removed (and whether it was downed), and the oldest node (which
/// holds the shard coordinator).
/// </summary>
public sealed class ClusterLog : ReceiveActor
{
    /// <summary>
    /// The role a node carries with its worker-facing address, so that every node can name
    /// the others as workers and operators know them, not by their cluster port.
    /// </summary>
    public const string FrontRole = "front=";

    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SortedSet<Member> _up = new(Member.AgeOrdering);
    private Address? _oldest;

    public ClusterLog()
    {
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        Receive<ClusterEvent.MemberUp>(m =>
        {
            _up.Add(m.Member);
            Changed("Cluster: node {0} is up ({1} members up)", m.Member);
        });
        Receive<ClusterEvent.MemberJoined>(m => _log.Info("Cluster: node {0} joins", Name(m.Member)));
        Receive<ClusterEvent.UnreachableMember>(m => _log.Warning("Cluster: node {0} is unreachable", Name(m.Member)));
        Receive<ClusterEvent.ReachableMember>(m => _log.Info("Cluster: node {0} is reachable again", Name(m.Member)));
        Receive<ClusterEvent.MemberLeft>(m => _log.Info("Cluster: node {0} leaves", Name(m.Member)));
        Receive<ClusterEvent.MemberExited>(m => _log.Info("Cluster: node {0} has handed over and exits", Name(m.Member)));
        Receive<ClusterEvent.MemberDowned>(m => _log.Warning("Cluster: node {0} is downed", Name(m.Member)));
        Receive<ClusterEvent.MemberRemoved>(m =>
        {
            var leaving = _cluster.IsTerminated || _cluster.SelfMember.Status is MemberStatus.Exiting or MemberStatus.Removed;
            if (leaving && !m.Member.UniqueAddress.Equals(_cluster.SelfUniqueAddress))
            {
                return; // this node has left: the others are not gone, it just no longer sees them
            }

            _up.RemoveWhere(up => up.UniqueAddress.Equals(m.Member.UniqueAddress));
            Changed(
            m.PreviousStatus == MemberStatus.Down
                ? "Cluster: node {0} is removed after being downed; its lists start on the other nodes ({1} members up)"
                : "Cluster: node {0} is removed ({1} members up)",
            m.Member);
        });
        Receive<ClusterEvent.IMemberEvent>(_ => { });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new ClusterLog());

    protected override void PreStart() => _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
        typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Changed(string format, Member member)
    {
        _log.Info(format, Name(member), _up.Count);
        var oldest = _up.Min;
        if (oldest is not null && !oldest.Address.Equals(_oldest))
        {
            _oldest = oldest.Address;
            _log.Info("Cluster: the oldest node, which holds the shard coordinator, is {0}", Name(oldest));
        }
    }

    /// <summary>A node as workers know it: its worker-facing address (its cluster address after it, in brackets).</summary>
    public static string Name(Member member) =>
        member.Roles.FirstOrDefault(r => r.StartsWith(FrontRole, StringComparison.Ordinal)) is { } role
            ? $"{role[FrontRole.Length..]} [{member.Address}]"
            : member.Address.ToString();
}
