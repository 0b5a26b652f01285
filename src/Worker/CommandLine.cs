using System.CommandLine;
using System.Globalization;
using Hosting;

namespace Worker;

/// <summary>
/// The worker's command line, parsed by System.CommandLine into one record: the commands,
/// their options, the help they generate; <see cref="UsageException"/> on anything else.
/// </summary>
public sealed record CommandLine(
    string Command,
    IReadOnlyList<Endpoint> Aggregators,
    string List,
    string? ConfigFile,
    double? ConnectTimeoutSeconds,
    bool Json,
    string? ProducerId,
    string? File,
    IReadOnlyList<string> Items,
    ulong? From,
    ulong? Count,
    TlsFiles Tls)
{
    private const string WholeNumber = "a whole number";

    /// <summary>The environment variable that names the aggregator when --aggregator is not given.</summary>
    public const string AggregatorVariable = "ACTORS_AGGREGATOR";

    /// <summary>Where workers look without --aggregator or $ACTORS_AGGREGATOR: the aggregator's default port on this machine.</summary>
    public const string DefaultAggregator = "127.0.0.1:25520";

    private static readonly Option<IReadOnlyList<Endpoint>> AggregatorOption = new("--aggregator")
    {
        Description = $"where the aggregator listens; for a cluster, several nodes separated by commas (tried in turn when one is lost) [default: ${AggregatorVariable}, else {DefaultAggregator}]",
        HelpName = "HOST:PORT[,HOST:PORT...]",
        CustomParser = result => Endpoint.ParseList(result.Tokens[0].Value, "--aggregator", result.AddError),
    };

    private static readonly Option<string> ListOption = new("--list")
    {
        Description = "the list",
        HelpName = "NAME",
        DefaultValueFactory = _ => Protocol.ActorNames.DefaultList,
        Validators = { result => CheckName(result, "list name") },
    };

    private static readonly Option<double?> ConnectTimeoutOption = CommonOptions.Number("--connect-timeout", "S",
        "seconds to wait for an absent aggregator (default: actors.worker.connect-timeout, 30)",
        double.Epsilon, 86400, "a number of seconds (more than 0, at most 86400)", style: NumberStyles.Float);

    private static readonly Option<bool> JsonOption = new("--json") { Description = "machine-readable output" };

    private static readonly Option<string?> IdOption = new("--id")
    {
        Description = "producer id (default: a new one, printed in the summary; pass it again to resume)",
        HelpName = "ID",
        Validators = { result => CheckName(result, "producer id") },
    };

    private static readonly Option<string?> FileOption = CommonOptions.Text("--file", "PATH", "read items from a file, one a line (- for stdin)");

    private static readonly Argument<string[]> ItemsArgument = new("ITEM")
    {
        Description = "items to append (or - for stdin)",
        Arity = ArgumentArity.ZeroOrMore,
    };

    private static readonly Option<ulong?> FromOption = CommonOptions.Number("--from", "N", "start at item N", 0ul, ulong.MaxValue, WholeNumber);

    private static readonly Option<ulong?> CountOption = CommonOptions.Number("--count", "N", "at most N items", 0ul, ulong.MaxValue, WholeNumber);

    private static readonly Option<ulong?> Samples = CommonOptions.Number("--count", "N", "appends to time (default 10000)", 1ul, ulong.MaxValue, WholeNumber,
        "--count must be at least 1");

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

        // "-" before "--" means stdin (for any other command than append, the parser refused it);
        // after "--" every argument is an item.
        var command = result.CommandResult.Command;
        var options = args.TakeWhile(arg => arg != "--").ToArray();
        var items = (result.GetValue(ItemsArgument) ?? []).ToList();
        var stdin = options.Contains("-") && items.Remove("-");
        if (stdin && result.GetValue(FileOption) is not null)
        {
            throw new UsageException("give the input with --file or as - (stdin), not both", command);
        }

        var file = stdin ? "-" : result.GetValue(FileOption);
        if (items.FirstOrDefault(i => i.Length > 1 && i[0] == '-' && options.Contains(i)) is { } unknown)
        {
            throw new UsageException($"unknown option '{unknown}' for 'append' (items that start with '-' go after --)", command);
        }

        if (file is not null && items.Count > 0)
        {
            throw new UsageException("give items as arguments or with --file, not both", command);
        }

        RawArguments.CheckItems(args, items);

        // Options of other commands than this one read as null.
        return new CommandLine(command.Name, result.GetValue(AggregatorOption) ?? DefaultAggregators(), result.GetValue(ListOption)!, result.GetValue(Common.Config),
            result.GetValue(ConnectTimeoutOption), result.GetValue(JsonOption), result.GetValue(IdOption), file, items,
            result.GetValue(FromOption), result.GetValue(CountOption) ?? result.GetValue(Samples), Common.Tls(result));
    }

    /// <summary>$ACTORS_AGGREGATOR when set, else <see cref="DefaultAggregator"/>.</summary>
    /// <exception cref="UsageException">the variable does not hold HOST:PORT[,HOST:PORT...].</exception>
    private static IReadOnlyList<Endpoint> DefaultAggregators()
    {
        var variable = Environment.GetEnvironmentVariable(AggregatorVariable);
        if (string.IsNullOrWhiteSpace(variable))
        {
            return Endpoint.ParseList(DefaultAggregator, "--aggregator", _ => { })!;
        }

        string? problem = null;
        var endpoints = Endpoint.ParseList(variable.Trim(), $"${AggregatorVariable}", p => problem ??= p);
        return problem is null && endpoints is not null
            ? endpoints
            : throw new UsageException($"{problem ?? "no aggregator"} (set {AggregatorVariable} to HOST:PORT[,HOST:PORT...], or give --aggregator)");
    }

    private static void CheckName(System.CommandLine.Parsing.OptionResult result, string what)
    {
        if (result.Tokens.Count > 0 && Protocol.Names.Check(result.Tokens[0].Value, what) is { } problem)
        {
            result.AddError(problem);
        }
    }

    private static CommonOptions Define()
    {
        var common = new CommonOptions("Worker", """
            Worker: appends items to a list held by an aggregator, reads it back, follows it.
            Exit codes: 0 success, 1 failure, 2 bad usage, configuration or input,
            3 aggregator unreachable within the connect time-out, 130/143 interrupted (append).
            """);
        var root = common.Root;
        foreach (var option in new Option[] { AggregatorOption, ListOption, ConnectTimeoutOption, JsonOption })
        {
            // The worker's own options apply to every command too, before or after its name.
            option.Recursive = true;
            root.Options.Add(option);
        }

        root.Subcommands.Add(new Command("append", """
            send items (the ITEM arguments, the lines of PATH, or of stdin with -) and exit 0 once the aggregator
            has acknowledged every one. Re-run with the same --id and the same input to resume after a crash:
            nothing is added twice.
            """) { IdOption, FileOption, ItemsArgument });
        root.Subcommands.Add(new Command("get", "print the list, one item a line (a range with --from and --count)") { FromOption, CountOption });
        root.Subcommands.Add(new Command("count", "print the list's length"));
        root.Subcommands.Add(new Command("follow",
            "print items as they are appended, until interrupted (--from N: start at item N instead of the current end)") { FromOption });
        root.Subcommands.Add(new Command("delete", "remove the list and its producers' positions"));
        root.Subcommands.Add(new Command("stats", "print the lists the aggregator holds: length, producers, followers"));
        root.Subcommands.Add(new Command("latency", """
            append N items one at a time, each waiting for its acknowledgement, to a new list that is deleted
            afterwards; print the round-trip percentiles
            """) { Samples });
        return common;
    }
}
