using Hosting;
using Protocol;

namespace Aggregator.Service;

/// <summary>
/// Cluster mode (<c>serve --cluster</c>, or <c>actors.cluster</c>): the nodes to join, how the
/// lists are sharded, and the node's own port, address and certificates for its traffic with
/// the other nodes, apart from the workers'. Null settings mean one aggregator alone.
/// </summary>
public sealed record ClusterSettings(IReadOnlyList<Endpoint> Seeds, int Shards, TimeSpan PassivateIdleAfter, int Port, string? Hostname,
    AggregatorTls? Security)
{
    /// <summary>A list answers reads without asking the journal this long after it last proved that its node holds it (<see cref="Lists.ListSettings.ConfirmReadsAfter"/>; its default is the shipped file's).</summary>
    public TimeSpan ConfirmReadsAfter { get; init; }

    /// <summary>The configuration keys of cluster mode.</summary>
    public const string Prefix = "actors.cluster.";

    /// <summary>The seed nodes' cluster addresses, in the transport's protocol (akka.tcp, or akka.ssl.tcp with TLS between nodes).</summary>
    public string[] SeedAddresses() =>
        Seeds.Select(seed => ActorNames.ClusterAddress(seed.Host, seed.Port, Security is null ? "akka.tcp" : "akka.ssl.tcp")).ToArray();
}
