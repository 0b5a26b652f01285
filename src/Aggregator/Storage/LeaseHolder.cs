using System.Globalization;

namespace Aggregator.Storage;

/// <summary>
/// A row of <c>aggregator_leases</c> that keeps a claimant from its lease: its own row held by
/// another, or a live row of the other role. Times are the database's.
/// </summary>
/// <param name="Key">the row's key (with <paramref name="Name"/>, what the claimant's wait tells holders apart by).</param>
/// <param name="RenewedAt">when it was last renewed (seconds since 1970): a change means its holder is alive.</param>
internal sealed record LeaseHolder(string Key, string Name, int ProcessId, LeaseRole Role, double RenewedAt, TimeSpan RenewedAgo, TimeSpan LapsesIn)
{
    /// <summary>The holder as a claimant of role <paramref name="asker"/> names it.</summary>
    public string DescribedTo(LeaseRole asker) => (asker == Role, Role) switch
    {
        (true, _) => $"{Name} (process {ProcessId})",
        (false, LeaseRole.ClusterNode) => $"the cluster node {Name} (process {ProcessId})",
        _ => $"the lone aggregator {Name} (process {ProcessId})",
    };

    /// <summary>Why a claimant of role <paramref name="asker"/> cannot start while this holder is alive.</summary>
    public string RefusalTo(LeaseRole asker) => (asker, Role) switch
    {
        (LeaseRole.LoneAggregator, LeaseRole.ClusterNode) =>
            $"a cluster uses this PostgreSQL database: its node {Name} (process {ProcessId}) renews its lease. A lone aggregator would take the cluster's lists: give it a database of its own, or start it as a node of that cluster (--cluster) (docs/operations.md, \"PostgreSQL\")",
        (LeaseRole.ClusterNode, LeaseRole.LoneAggregator) =>
            $"a lone aggregator uses this PostgreSQL database: {Name} (process {ProcessId}), which renews its lease. The cluster would take its lists: stop it, or give the cluster a database of its own (docs/operations.md, \"PostgreSQL\")",
        _ =>
            $"another aggregator uses this PostgreSQL database: {Name} (process {ProcessId}), which renews its lease. Give each lone aggregator a database of its own, or set actors.aggregator.load-lists-at-start = off on both (docs/operations.md, \"PostgreSQL\")",
    };

    /// <summary>What a claimant of role <paramref name="asker"/> says while it waits for this holder's lease to lapse.</summary>
    public string WaitingFor(LeaseRole asker) =>
        $"The PostgreSQL database's lease is held by {DescribedTo(asker)}, renewed {Seconds(RenewedAgo)} ago; waiting up to {Seconds(LapsesIn)} for it to lapse (should it be renewed meanwhile, that aggregator is alive and this one stops)";

    /// <summary>Why a claimant of role <paramref name="asker"/> gave up waiting.</summary>
    public string NotFreeTo(LeaseRole asker) =>
        $"the PostgreSQL database's lease did not come free: it is held by {DescribedTo(asker)}, and lapses in {Seconds(LapsesIn)} (docs/operations.md, \"PostgreSQL\")";

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s";
}
