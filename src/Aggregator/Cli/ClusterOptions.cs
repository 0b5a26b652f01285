using Aggregator.Service;
using Hosting;

namespace Aggregator.Cli;

/// <summary>Cluster mode's settings from the command line over the configuration file (<c>actors.cluster</c>).</summary>
public static class ClusterOptions
{
    private const string Prefix = ClusterSettings.Prefix;

    /// <summary>Null unless cluster mode is on (the command line's --cluster, else the file's enabled).</summary>
    /// <param name="workers">the TLS of the workers' connections, if on: the nodes' must then be on too, with a CA of their own.</param>
    /// <exception cref="ConfigurationException">a key is malformed, no seed node is given, or the nodes' TLS does not fit the workers'.</exception>
    /// <exception cref="UsageException">--seed or a --cluster- or --node- option without cluster mode; one port for workers and nodes.</exception>
    public static ClusterSettings? Read(HoconFile file, CommandLine line, AggregatorTls? workers)
    {
        if (!line.Cluster && !file.GetBoolean(Prefix + "enabled"))
        {
            return line.Seeds is not null || line.ClusterPort is not null || line.ClusterHostname is not null || line.NodeTls?.Certificate is not null
                ? throw new UsageException("--seed, --cluster-port, --cluster-hostname and --node-cert go with --cluster (or actors.cluster.enabled = on)")
                : null;
        }

        var seeds = line.Seeds ?? ConfiguredSeeds(file);
        if (seeds.Count == 0)
        {
            throw new ConfigurationException(file.Path, null, Prefix + "seed-nodes",
                "cluster mode needs the nodes to join: --seed HOST:PORT once per node, at its cluster port (list several), or actors.cluster.seed-nodes");
        }

        var port = line.ClusterPort ?? file.GetInt(Prefix + "port", 0, 65535);
        var workersPort = line.Port ?? file.GetInt("akka.remote.dot-netty.tcp.port", 0, 65535);
        if (port != 0 && port == workersPort)
        {
            throw new UsageException($"the workers' port and the nodes' port are both {port}: give the nodes' traffic a port of its own (--cluster-port)");
        }

        var hostname = line.ClusterHostname ?? (file.GetString(Prefix + "hostname") is { Length: > 0 } configured ? configured : null);
        var nodes = TransportSecurity.From(file, line.NodeTls, role: TlsRole.Nodes);
        if (workers is not null && nodes is null)
        {
            throw new ConfigurationException(file.Path, null, Prefix + "tls",
                "workers connect with TLS, so the nodes must too: --node-cert, --node-key and --node-ca, certificates from a CA of the nodes' own (docs/operations.md)");
        }

        if (workers is not null && nodes is not null && nodes.SharesAuthorityWith(workers))
        {
            throw new ConfigurationException(file.Path, null, Prefix + "tls.ca",
                "the nodes' certificate authority (--node-ca) is also one the workers' certificates are checked against (--tls-ca): a worker's certificate would pass for a node's. Issue the nodes' certificates from a CA of their own (docs/operations.md)");
        }

        return new ClusterSettings(seeds, file.GetInt(Prefix + "shards", 1, 100_000), file.GetTimeSpan(Prefix + "passivate-idle-after"),
            port, hostname, nodes)
        {
            ConfirmReadsAfter = ConfirmReadsAfter(file),
        };
    }

    /// <summary>
    /// Shorter than the least time in which another node can start a list this node holds: the
    /// failure detector's acceptable pause, then the split brain resolver's stable-after.
    /// </summary>
    private static TimeSpan ConfirmReadsAfter(HoconFile file)
    {
        var within = file.GetTimeSpan(Prefix + "confirm-reads-after");
        var takeover = file.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause")
            + file.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after");
        return within < takeover
            ? within
            : throw new ConfigurationException(file.Path, null, Prefix + "confirm-reads-after",
                $"{within.TotalSeconds:0.###} s is not shorter than the least time in which another node can take a list over ({takeover.TotalSeconds:0.###} s: akka.cluster's failure-detector.acceptable-heartbeat-pause plus split-brain-resolver.stable-after); a read answered that late could miss another node's writes");
    }

    private static IReadOnlyList<Endpoint> ConfiguredSeeds(HoconFile file)
    {
        var seeds = new List<Endpoint>();
        foreach (var text in file.Config.GetStringList(Prefix + "seed-nodes") ?? [])
        {
            var endpoint = Endpoint.Parse(text, "seed node", problem => throw new ConfigurationException(file.Path, null, Prefix + "seed-nodes", problem));
            seeds.Add(endpoint!.Value);
        }

        return seeds;
    }
}
