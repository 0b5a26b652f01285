using System.CommandLine;
using Hosting;

namespace Aggregator.Cli;

/// <summary>
/// The aggregator's command line (System.CommandLine): <c>serve</c> and <c>demo</c>, with
/// the options both executables share from <see cref="CommonOptions"/>.
/// </summary>
public sealed record CommandLine(
    string Command,
    string? ConfigFile,
    string? Hostname,
    int? Port,
    string? PublicHostname,
    string? DataDirectory,
    bool InMemory,
    TlsFiles Tls,
    int? MetricsPort = null,
    string? MetricsHostname = null,
    bool Cluster = false,
    IReadOnlyList<Endpoint>? Seeds = null,
    int? ClusterPort = null,
    string? ClusterHostname = null,
    TlsFiles? NodeTls = null)
{
    private const string PortNumber = "a port number (0 to 65535)";

    private static readonly Option<string?> HostnameOption =
        CommonOptions.Text("--hostname", "H", "address to bind (default 127.0.0.1; 0.0.0.0 for every interface)");

    private static readonly Option<int?> PortOption =
        CommonOptions.Number("--port", "P", "TCP port (default 25520; 0 picks a free port)", 0, 65535, PortNumber);

    private static readonly Option<string?> PublicHostnameOption =
        CommonOptions.Text("--public-hostname", "H", "the name other machines use to reach this one (NAT, containers)");

    private static readonly Option<string?> DataOption =
        CommonOptions.Text("--data", "DIR", "journal lists in DIR (default ./data, an embedded SQLite database)");

    private static readonly Option<bool> InMemoryOption = new("--in-memory") { Description = "keep lists in memory only: nothing survives a restart" };

    private static readonly Option<int?> MetricsPortOption = CommonOptions.Number("--metrics-port", "P",
        "serve Prometheus metrics at /metrics and health at /health/live and /health/ready on this port (default: actors.metrics.port; off)",
        0, 65535, PortNumber);

    private static readonly Option<string?> MetricsHostnameOption =
        CommonOptions.Text("--metrics-hostname", "H", "address the metrics and health endpoints bind (default: actors.metrics.hostname, 127.0.0.1)");

    private static readonly Option<bool> ClusterOption = new("--cluster")
    {
        Description = "run as a node of a cluster of aggregators sharing a PostgreSQL journal (default: actors.cluster.enabled, off)",
    };

    private static readonly Option<int?> ClusterPortOption = CommonOptions.Number("--cluster-port", "P",
        "cluster mode: the TCP port of this node's traffic with the other nodes, never the workers' (default: actors.cluster.port, 25530; 0 picks a free port)",
        0, 65535, PortNumber);

    private static readonly Option<string?> ClusterHostnameOption = CommonOptions.Text("--cluster-hostname", "H",
        "cluster mode: the address the node-to-node port binds, and other nodes reach (default: actors.cluster.hostname, else --hostname)");

    private static readonly Option<string?> NodeCertificateOption = CommonOptions.Text("--node-cert", "FILE",
        "cluster mode: mutual TLS between nodes: this node's certificate, from the nodes' own CA (PEM with --node-key, or PKCS#12 with its password in $ACTORS_NODE_TLS_PASSWORD)");

    private static readonly Option<string?> NodeKeyOption = CommonOptions.Text("--node-key", "FILE", "the PEM private key of --node-cert");

    private static readonly Option<string?> NodeAuthorityOption = CommonOptions.Text("--node-ca", "FILE",
        "the certificate authority (PEM) of the nodes: never the one of the workers' certificates");

    private static readonly Option<IReadOnlyList<Endpoint>> SeedOption = new("--seed")
    {
        Description = "a node to join, at its --cluster-port, once per node; list several (default: actors.cluster.seed-nodes)",
        HelpName = "HOST:PORT",
        Arity = ArgumentArity.OneOrMore,
        CustomParser = result => result.Tokens.SelectMany(t => Endpoint.Parse(t.Value, "--seed", result.AddError) is { } e ? [e] : Array.Empty<Endpoint>()).ToList(),
    };

    /// <summary>The whole command line, on the options both executables take: its parse, help and failure report.</summary>
    public static readonly CommonOptions Common = Define();

    /// <summary>The parsed command line, or null when help was asked for (then written to <paramref name="output"/>).</summary>
    /// <exception cref="UsageException">the command line cannot be used.</exception>
    public static CommandLine? Parse(string[] args, TextWriter? output = null)
    {
        if (Common.Parse(args, output ?? TextWriter.Null) is not { } result)
        {
            return null;
        }

        var command = result.CommandResult.Command;
        if (result.GetResult(DataOption) is not null && result.GetValue(InMemoryOption))
        {
            throw new UsageException("--data and --in-memory exclude each other", command);
        }

        if ((result.GetResult(NodeKeyOption) is not null || result.GetResult(NodeAuthorityOption) is not null) && result.GetResult(NodeCertificateOption) is null)
        {
            throw new UsageException("--node-key and --node-ca go with --node-cert", command);
        }

        return new CommandLine(command.Name, result.GetValue(Common.Config), result.GetValue(HostnameOption), result.GetValue(PortOption),
            result.GetValue(PublicHostnameOption), result.GetValue(DataOption), result.GetValue(InMemoryOption), Common.Tls(result),
            result.GetValue(MetricsPortOption), result.GetValue(MetricsHostnameOption), result.GetValue(ClusterOption), result.GetValue(SeedOption),
            result.GetValue(ClusterPortOption), result.GetValue(ClusterHostnameOption),
            new TlsFiles(result.GetValue(NodeCertificateOption), result.GetValue(NodeKeyOption), result.GetValue(NodeAuthorityOption)));
    }

    private static CommonOptions Define()
    {
        var common = new CommonOptions("Aggregator", """
            Aggregator: hosts named lists that worker processes append to.
            Exit codes: 0 success, 1 failure, 2 bad usage or configuration.
            """);
        common.Root.Subcommands.Add(new Command("serve", """
            host the lists and accept workers; prints "ready <address>" on stdout when it accepts work.
            Stop it with Ctrl+C or SIGTERM.
            """)
        {
            HostnameOption, PortOption, PublicHostnameOption, DataOption, InMemoryOption, MetricsPortOption, MetricsHostnameOption, ClusterOption, SeedOption,
            ClusterPortOption, ClusterHostnameOption, NodeCertificateOption, NodeKeyOption, NodeAuthorityOption,
        });
        common.Root.Subcommands.Add(new Command("demo", "the reference scenario: two worker processes append five items each; prints the final list as JSON"));
        return common;
    }
}
