using Aggregator.Lists;
using Akka.Actor;
using Protocol.Messages;

namespace Aggregator.Routing;

/// <summary>
/// Answers one <see cref="GetStats"/>: asks each list of the page for its figures (its
/// actor, or the cluster's shard region, which routes by list name) and replies once all
/// have answered, or when its time is up with those that have and the names of those that
/// have not (<see cref="Stats.Unanswered"/>), then stops. One per request, so a slow list
/// never holds up the lists actor. Each list's node is the address its answer came from.
/// </summary>
public sealed class StatsCollector : ReceiveActor, IWithTimers
{
    private readonly IReadOnlyList<(IActorRef To, string List)> _lists;
    private readonly IActorRef _requester;
    private readonly Stats _stats;
    private readonly string _node;
    private readonly TimeSpan _timeout;
    private readonly HashSet<string> _waiting;

    /// <param name="silentNodes">nodes that did not say which lists they hold (a cluster's <see cref="RegionStates"/>).</param>
    public StatsCollector(IReadOnlyList<(IActorRef To, string List)> lists, bool more, IActorRef requester, string node, TimeSpan timeout,
        IReadOnlyList<string>? silentNodes = null)
    {
        _lists = lists;
        _requester = requester;
        _node = node;
        _timeout = timeout;
        _stats = new Stats { More = more, Node = node, Version = ProductInfo.Version };
        _stats.SilentNodes.AddRange(silentNodes ?? []);
        _waiting = lists.Select(l => l.List).ToHashSet(StringComparer.Ordinal);
        Receive<ListStats>(Collect);
        Receive<TimeUp>(_ => Reply());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IReadOnlyList<(IActorRef To, string List)> lists, bool more, IActorRef requester, string node, TimeSpan timeout,
        IReadOnlyList<string>? silentNodes = null) =>
        Akka.Actor.Props.Create(() => new StatsCollector(lists, more, requester, node, timeout, silentNodes));

    protected override void PreStart()
    {
        if (_waiting.Count == 0)
        {
            Reply();
            return;
        }

        foreach (var (to, list) in _lists)
        {
            to.Tell(new GetListStats { List = list });
        }

        Timers.StartSingleTimer(nameof(TimeUp), TimeUp.Instance, _timeout);
    }

    private void Collect(ListStats stats)
    {
        if (!_waiting.Remove(stats.List))
        {
            return; // not asked, or answered already
        }

        if (stats.Node.Length == 0)
        {
            var from = Sender.Path.Address;
            stats.Node = from.HasGlobalScope ? from.ToString() : _node;
        }

        _stats.Lists.Add(stats);
        if (_waiting.Count == 0)
        {
            Reply();
        }
    }

    private void Reply()
    {
        var sorted = _stats.Lists.OrderBy(l => l.List, StringComparer.Ordinal).ToList();
        _stats.Lists.Clear();
        _stats.Lists.AddRange(sorted);
        _stats.Unanswered.AddRange(_waiting.Order(StringComparer.Ordinal));
        _requester.Tell(_stats);
        Context.Stop(Self);
    }

    private sealed class TimeUp : INoSerializationVerificationNeeded
    {
        public static readonly TimeUp Instance = new();
    }
}
