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
    /// <summary>The configuration keys of cluster mode.</summary>
    public const string Prefix = "actors.cluster.";

    /// <summary>The seed nodes' cluster addresses, in the transport's protocol (akka.tcp, or akka.ssl.tcp with TLS between nodes).</summary>
    public string[] SeedAddresses() =>
        Seeds.Select(seed => ActorNames.ClusterAddress(seed.Host, seed.Port, Security is null ? "akka.tcp" : "akka.ssl.tcp")).ToArray();
}
