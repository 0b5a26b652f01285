using System.Globalization;

namespace Aggregator.Storage;

/// <summary>What a <see cref="DatabaseLease"/> is held for.</summary>
public enum LeaseRole
{
    /// <summary>An aggregator that serves every list of its database alone: one per database.</summary>
    LoneAggregator,

    /// <summary>A node of a cluster, which shares the database's lists with the cluster's other nodes.</summary>
    ClusterNode,
}

/// <summary>Who asks for a <see cref="DatabaseLease"/>: a name the same aggregator restarted has again, its process, and its role.</summary>
/// <param name="Name">the machine and the address this process has bound (so no other process of the machine has it at once).</param>
public sealed record LeaseClaimant(string Name, int ProcessId, LeaseRole Role = LeaseRole.LoneAggregator)
{
    private const string LoneKey = "lone-aggregator";
    private const string NodeKeyPrefix = "cluster-node ";

    /// <summary>The claimant for this process, listening on <paramref name="hostname"/>:<paramref name="port"/>.</summary>
    public static LeaseClaimant Of(string hostname, int port, LeaseRole role) =>
        new($"{Environment.MachineName}/{hostname}:{port.ToString(CultureInfo.InvariantCulture)}", Environment.ProcessId, role);

    /// <summary>
    /// The row this claimant holds: the one lone aggregator's, or a node's own (a cluster's
    /// nodes hold one each). <paramref name="scope"/> is empty but in specs, which share a database.
    /// </summary>
    public string Key(string scope) => Role == LeaseRole.LoneAggregator ? scope + LoneKey : scope + NodeKeyPrefix + Name;

    /// <summary>The start of the keys of the other role's rows: while one of them is alive this claimant may not hold its own.</summary>
    public string OthersKeyPrefix(string scope) => Role == LeaseRole.LoneAggregator ? scope + NodeKeyPrefix : scope + LoneKey;

    /// <summary>The role a row's key says its holder has.</summary>
    public static LeaseRole RoleOf(string key, string scope) =>
        key.StartsWith(scope + NodeKeyPrefix, StringComparison.Ordinal) ? LeaseRole.ClusterNode : LeaseRole.LoneAggregator;
}
