using System.CommandLine;
using System.Globalization;
using Hosting;

namespace Aggregator;

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
    IReadOnlyList<Endpoint>? Seeds = null)
{
    private static readonly CommonOptions Common = new();

    private static readonly Option<string?> HostnameOption = new("--hostname")
    {
        Description = "address to bind (default 127.0.0.1; 0.0.0.0 for every interface)", HelpName = "H",
    };

    private static readonly Option<int?> PortOption = new("--port")
    {
        Description = "TCP port (default 25520; 0 picks a free port)", HelpName = "P",
        CustomParser = result => PortNumber(result, "--port"),
    };

    private static readonly Option<string?> PublicHostnameOption = new("--public-hostname")
    {
        Description = "the name other machines use to reach this one (NAT, containers)", HelpName = "H",
    };

    private static readonly Option<string?> DataOption = new("--data")
    {
        Description = "journal lists in DIR (default ./data, an embedded SQLite database)", HelpName = "DIR",
    };

    private static readonly Option<bool> InMemoryOption = new("--in-memory") { Description = "keep lists in memory only: nothing survives a restart" };

    private static readonly Option<int?> MetricsPortOption = new("--metrics-port")
    {
        Description = "serve Prometheus metrics at /metrics and health at /health/live and /health/ready on this port (default: actors.metrics.port; off)",
        HelpName = "P",
        CustomParser = result => PortNumber(result, "--metrics-port"),
    };

    private static readonly Option<string?> MetricsHostnameOption = new("--metrics-hostname")
    {
        Description = "address the metrics and health endpoints bind (default: actors.metrics.hostname, 127.0.0.1)", HelpName = "H",
    };

    private static readonly Option<bool> ClusterOption = new("--cluster")
    {
        Description = "run as a node of a cluster of aggregators sharing a PostgreSQL journal (default: actors.cluster.enabled, off)",
    };

    private static readonly Option<IReadOnlyList<Endpoint>> SeedOption = new("--seed")
    {
        Description = "a node to join, once per node; list several (default: actors.cluster.seed-nodes)",
        HelpName = "HOST:PORT",
        Arity = ArgumentArity.OneOrMore,
        CustomParser = result => result.Tokens.SelectMany(t => Endpoint.Parse(t.Value, "--seed", result.AddError) is { } e ? [e] : Array.Empty<Endpoint>()).ToList(),
    };

    private static readonly RootCommand Root = BuildRoot();

    /// <summary>The parsed command line, or null when help was asked for (then written to <paramref name="output"/>).</summary>
    /// <exception cref="UsageException">the command line cannot be used.</exception>
    public static CommandLine? Parse(string[] args, TextWriter? output = null)
    {
        var result = CommonOptions.Parse(Root, args, output ?? TextWriter.Null);
        if (result is null)
        {
            return null;
        }

        var command = result.CommandResult.Command;
        if (command == Root)
        {
            throw new UsageException("a command is required: serve, demo or help");
        }

        Common.Validate(result);
        if (result.GetResult(DataOption) is not null && result.GetValue(InMemoryOption))
        {
            throw new UsageException("--data and --in-memory exclude each other", command);
        }

        var seeds = result.GetValue(SeedOption);
        return new CommandLine(command.Name, result.GetValue(Common.Config), result.GetValue(HostnameOption), result.GetValue(PortOption),
            result.GetValue(PublicHostnameOption), result.GetValue(DataOption), result.GetValue(InMemoryOption), Common.Tls(result),
            result.GetValue(MetricsPortOption), result.GetValue(MetricsHostnameOption), result.GetValue(ClusterOption), seeds);
    }

    /// <summary>The generated help: of the whole program, or of <paramref name="command"/>.</summary>
    public static string Help(Command? command = null) => CommonOptions.HelpOf(Root, command ?? Root);

    private static int? PortNumber(System.CommandLine.Parsing.ArgumentResult result, string option)
    {
        var text = result.Tokens[0].Value;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535)
        {
            return port;
        }

        result.AddError($"{option} '{text}' is not a port number (0 to 65535)");
        return null;
    }

    private static RootCommand BuildRoot()
    {
        var root = new RootCommand("""
            Aggregator: hosts named lists that worker processes append to.
            Exit codes: 0 success, 1 failure, 2 bad usage or configuration.
            """);
        Common.AddTo(root);
        root.Subcommands.Add(new Command("serve", """
            host the lists and accept workers; prints "ready <address>" on stdout when it accepts work.
            Stop it with Ctrl+C or SIGTERM.
            """) { HostnameOption, PortOption, PublicHostnameOption, DataOption, InMemoryOption, MetricsPortOption, MetricsHostnameOption, ClusterOption, SeedOption });
        root.Subcommands.Add(new Command("demo", "the reference scenario: two worker processes append five items each; prints the final list as JSON"));
        return root;
    }
}
