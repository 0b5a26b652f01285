namespace Protocol;

/// <summary>Names both processes must agree on, defined once.</summary>
public static class ActorNames
{
    /// <summary>The aggregator's actor system name: part of its address, the one workers reach.</summary>
    public const string AggregatorSystem = "aggregator";

    /// <summary>
    /// The actor system of a cluster node's own traffic (membership, sharding, the lists), on its
    /// own port; workers never reach it: they talk to the node's <see cref="AggregatorSystem"/>.
    /// </summary>
    public const string ClusterSystem = "aggregator-cluster";

    /// <summary>The worker's actor system name.</summary>
    public const string WorkerSystem = "worker";

    /// <summary>The parent of all list actors, under /user.</summary>
    public const string Lists = "lists";

    /// <summary>The list used when none is named.</summary>
    public const string DefaultList = "default";

    /// <summary>
    /// The actor path of the lists actor in the aggregator at host:port, reached with
    /// <paramref name="protocol"/> (akka.tcp, or akka.ssl.tcp with TLS).
    /// </summary>
    public static string ListsPath(string host, int port, string protocol = "akka.tcp") =>
        $"{AggregatorAddress(host, port, protocol)}/user/{Lists}";

    /// <summary>The address of the aggregator's actor system at host:port.</summary>
    public static string AggregatorAddress(string host, int port, string protocol = "akka.tcp") =>
        $"{protocol}://{AggregatorSystem}@{FormatHost(host)}:{port}";

    /// <summary>The address of a cluster node's own actor system at host:port (a seed node).</summary>
    public static string ClusterAddress(string host, int port, string protocol = "akka.tcp") =>
        $"{protocol}://{ClusterSystem}@{FormatHost(host)}:{port}";

    private static string FormatHost(string host) =>
        host.Contains(':') && !host.StartsWith('[') ? $"[{host}]" : host;
}
