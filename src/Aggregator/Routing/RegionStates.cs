using Aggregator.Lists;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;

namespace Aggregator.Routing;

/// <summary>
/// Asks the shard region of every member for the lists it holds now, and hands the
/// gateway one page of their names; a region that does not answer in time is left out, and
/// its node named as silent. Each ask carries the time-out, so every member's answer, or its
/// failure, comes back.
/// </summary>
internal sealed class RegionStates : ReceiveActor
{
    private readonly SortedSet<string> _names = new(StringComparer.Ordinal);
    private readonly string _after;
    private readonly IActorRef _requester;
    private readonly HashSet<Address> _waiting = [];
    private readonly HashSet<Address> _silent = [];
    private readonly TimeSpan _timeout;
    private readonly int _budget;

    public RegionStates(string after, IActorRef requester, TimeSpan timeout, int budget)
    {
        _after = after;
        _requester = requester;
        _timeout = timeout;
        _budget = budget;
        Receive<RegionAnswer>(Collect);
    }

    public static Props Props(string after, IActorRef requester, TimeSpan timeout, int budget) =>
        Akka.Actor.Props.Create(() => new RegionStates(after, requester, timeout, budget));

    protected override void PreStart()
    {
        var members = Cluster.Get(Context.System).State.Members.Where(m => m.Status == MemberStatus.Up).ToList();
        foreach (var member in members)
        {
            // A region answers through a task piped to the asker, with no sender: each ask
            // carries the member it went to.
            var node = member.Address;
            Context.ActorSelection(new RootActorPath(node) / "system" / "sharding" / ListsGateway.RegionName)
                .Ask<CurrentShardRegionState>(GetShardRegionState.Instance, _timeout)
                .PipeTo(Self, success: state => new RegionAnswer(node, state), failure: _ => new RegionAnswer(node, null));
            _waiting.Add(node);
        }

        if (_waiting.Count == 0)
        {
            Done();
        }
    }

    private void Collect(RegionAnswer answer)
    {
        if (!_waiting.Remove(answer.Node))
        {
            return;
        }

        // No answer, or some of its shards did not answer the region: its lists are not all named.
        if (answer.State is null || answer.State.Failed.Count > 0)
        {
            _silent.Add(answer.Node);
        }

        foreach (var name in answer.State?.Shards.SelectMany(shard => shard.EntityIds) ?? [])
        {
            if (string.CompareOrdinal(name, _after) > 0)
            {
                _names.Add(name);
            }
        }

        if (_waiting.Count == 0)
        {
            Done();
        }
    }

    private void Done()
    {
        // Each entry names the node holding the list as workers reach it: about as long as the
        // longest member's address, with room to spare.
        var members = Cluster.Get(Context.System).State.Members;
        var nodeBytes = members.Count == 0 ? 256 : members.Max(m => System.Text.Encoding.UTF8.GetByteCount(m.Address.ToString())) + 64;
        var (page, more) = ListRouting.StatsPageOf(_names, _budget, nodeBytes);
        var silent = _silent.Select(a => a.ToString()).Order(StringComparer.Ordinal).ToList();
        Context.Parent.Tell(new ListsGateway.StatsPage(page, more, _requester, silent));
        Context.Stop(Self);
    }

    private sealed record RegionAnswer(Address Node, CurrentShardRegionState? State) : INoSerializationVerificationNeeded;
}
