using Hosting;
using Protocol;

namespace Aggregator;

/// <summary>
/// Cluster mode (<c>serve --cluster</c>, or <c>actors.cluster</c>): the nodes to join and
/// how the lists are sharded. Null settings mean one aggregator alone.
/// </summary>
public sealed record ClusterSettings(IReadOnlyList<Endpoint> Seeds, int Shards, TimeSpan PassivateIdleAfter)
{
    private const string Prefix = "actors.cluster.";

    /// <summary>The seed nodes' Akka addresses, in the transport's protocol (akka.tcp, or akka.ssl.tcp with TLS).</summary>
    public string[] SeedAddresses(bool tls) =>
        Seeds.Select(seed => ActorNames.AggregatorAddress(seed.Host, seed.Port, tls ? "akka.ssl.tcp" : "akka.tcp")).ToArray();

    /// <summary>Null unless cluster mode is on (the command line's --cluster, else the file's enabled).</summary>
    /// <exception cref="ConfigurationException">a key is malformed, or no seed node is given.</exception>
    /// <exception cref="UsageException">--seed without cluster mode.</exception>
    public static ClusterSettings? From(HoconFile file, CommandLine line)
    {
        if (!line.Cluster && !file.GetBoolean(Prefix + "enabled"))
        {
            return line.Seeds is null ? null : throw new UsageException("--seed goes with --cluster (or actors.cluster.enabled = on)");
        }

        var seeds = line.Seeds ?? ConfiguredSeeds(file);
        if (seeds.Count == 0)
        {
            throw new ConfigurationException(file.Path, null, Prefix + "seed-nodes",
                "cluster mode needs the nodes to join: --seed HOST:PORT once per node (list several), or actors.cluster.seed-nodes");
        }

        return new ClusterSettings(seeds, file.GetInt(Prefix + "shards", 1, 100_000), file.GetTimeSpan(Prefix + "passivate-idle-after"));
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
