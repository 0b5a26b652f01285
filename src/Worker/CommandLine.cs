using System.Globalization;

namespace Worker;

/// <summary>The worker's command line, parsed; <see cref="UsageException"/> on anything else.</summary>
public sealed record CommandLine(
    string Command,
    string AggregatorHost,
    int AggregatorPort,
    string List,
    string? ConfigFile,
    double? ConnectTimeoutSeconds,
    bool Json,
    string? ProducerId,
    string? File,
    IReadOnlyList<string> Items,
    ulong? From,
    ulong? Count,
    string? TlsCertificate = null,
    string? TlsKey = null,
    string? TlsAuthority = null)
{
    public const string Usage = """
        Usage:
          Worker append --aggregator HOST:PORT [--id ID] [--list NAME] [--file PATH | -] [ITEM ...]
          Worker get    --aggregator HOST:PORT [--list NAME] [--from N] [--count N]
          Worker count  --aggregator HOST:PORT [--list NAME]
          Worker follow --aggregator HOST:PORT [--list NAME] [--from N]
          Worker delete --aggregator HOST:PORT [--list NAME]
          Worker latency --aggregator HOST:PORT [--count N]
          Worker help

        append  send items (the ITEM arguments, the lines of PATH, or of stdin with -) and exit 0
                once the aggregator has acknowledged every one. Re-run with the same --id and the
                same input to resume after a crash: nothing is added twice.
        get     print the list, one item a line (a range with --from and --count)
        count   print the list's length
        follow  print items as they are appended, until interrupted (--from N: start at index N
                instead of the current end)
        delete  remove the list and its producers' positions
        latency append N items (default 10000) one at a time, each waiting for its
                acknowledgement, to a new list that is deleted afterwards; print the round-trip
                percentiles

        Options:
          --aggregator HOST:PORT   where the aggregator listens (required)
          --list NAME              the list (default: default)
          --id ID                  producer id (default: a new one; pass it again to resume)
          --file PATH | -          read items from a file, one a line, or from stdin
          --connect-timeout S      seconds to wait for an absent aggregator (default 30)
          --json                   machine-readable output
          --config FILE            HOCON file (default: worker.hocon next to the executable)
          --tls-cert FILE          mutual TLS: this worker's certificate (PEM with --tls-key, or PKCS#12
                                   with its password in $ACTORS_TLS_PASSWORD)
          --tls-key FILE           the PEM private key of --tls-cert
          --tls-ca FILE            the certificate authority (PEM) the aggregator's certificate must come from

        Exit codes: 0 success, 1 failure, 2 bad usage, configuration or input,
                    3 aggregator unreachable within the connect time-out.
        """;

    private static readonly string[] Commands = ["append", "get", "count", "follow", "delete", "latency"];

    public static CommandLine? Parse(string[] args)
    {
        if (args.Length == 0)
        {
            throw new UsageException("a command is required: append, get, count, follow, delete, latency or help");
        }

        var command = args[0];
        if (command is "help" or "--help" or "-h")
        {
            return null;
        }

        if (!Commands.Contains(command))
        {
            throw new UsageException($"unknown command '{command}'");
        }

        string? aggregator = null, list = null, config = null, id = null, file = null, tlsCert = null, tlsKey = null, tlsCa = null;
        double? connectTimeout = null;
        ulong? from = null, count = null;
        var json = false;
        var items = new List<string>();
        var onlyItems = false;
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            if (onlyItems || command == "append" && !arg.StartsWith("--", StringComparison.Ordinal) && arg != "-")
            {
                if (command != "append" || file is not null && !onlyItems)
                {
                    throw new UsageException($"unexpected argument '{arg}'");
                }

                items.Add(arg);
                continue;
            }

            switch (arg)
            {
                case "--aggregator":
                    aggregator = Value(args, ref i);
                    break;
                case "--list":
                    list = Value(args, ref i);
                    break;
                case "--config":
                    config = Value(args, ref i);
                    break;
                case "--json":
                    json = true;
                    break;
                case "--tls-cert":
                    tlsCert = Value(args, ref i);
                    break;
                case "--tls-key":
                    tlsKey = Value(args, ref i);
                    break;
                case "--tls-ca":
                    tlsCa = Value(args, ref i);
                    break;
                case "--connect-timeout":
                    var seconds = Value(args, ref i);
                    connectTimeout = double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var s)
                                     && s > 0 && s <= 86400
                        ? s
                        : throw new UsageException($"--connect-timeout '{seconds}' is not a number of seconds (more than 0, at most 86400)");
                    break;
                case "--id" when command == "append":
                    id = Value(args, ref i);
                    break;
                case "--file" when command == "append":
                    file = Value(args, ref i, allowDash: true);
                    break;
                case "-" when command == "append":
                    file = "-";
                    break;
                case "--" when command == "append":
                    onlyItems = true;
                    break;
                case "--from" when command is "get" or "follow":
                    from = Number(args, ref i);
                    break;
                case "--count" when command is "get" or "latency":
                    count = Number(args, ref i);
                    break;
                case "--help" or "-h":
                    return null;
                default:
                    throw new UsageException(arg.StartsWith('-') ? $"unknown option '{arg}' for '{command}'" : $"unexpected argument '{arg}'");
            }
        }

        if (command == "latency" && count == 0)
        {
            throw new UsageException("--count must be at least 1");
        }

        if (file is not null && items.Count > 0)
        {
            throw new UsageException("give items as arguments or with --file, not both");
        }

        if ((tlsKey is not null || tlsCa is not null) && tlsCert is null)
        {
            throw new UsageException("--tls-key and --tls-ca go with --tls-cert");
        }

        if (aggregator is null)
        {
            throw new UsageException("--aggregator HOST:PORT is required");
        }

        var (host, port) = ParseEndpoint(aggregator);
        list ??= Protocol.ActorNames.DefaultList;
        if (Protocol.Names.Check(list, "list name") is { } badList)
        {
            throw new UsageException(badList);
        }

        if (id is not null && Protocol.Names.Check(id, "producer id") is { } badId)
        {
            throw new UsageException(badId);
        }

        return new CommandLine(command, host, port, list, config, connectTimeout, json, id, file, items, from, count,
            tlsCert, tlsKey, tlsCa);
    }

    /// <summary>HOST:PORT, with [v6]:PORT for IPv6.</summary>
    public static (string Host, int Port) ParseEndpoint(string text)
    {
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : string.Empty;
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (host.Length == 0 || host.Contains(' ') || (host.Contains(':') && !text.StartsWith('[')))
        {
            throw new UsageException($"--aggregator '{text}' is not HOST:PORT (for example 127.0.0.1:25520)");
        }

        var portText = text[(colon + 1)..];
        return int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? (host, port)
            : throw new UsageException($"--aggregator '{text}': '{portText}' is not a port number (1 to 65535)");
    }

    private static string Value(string[] args, ref int i, bool allowDash = false)
    {
        if (i + 1 >= args.Length || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2)
                                 || (args[i + 1] == "-" && !allowDash))
        {
            throw new UsageException($"{args[i]} needs a value");
        }

        return args[++i];
    }

    private static ulong Number(string[] args, ref int i)
    {
        var option = args[i];
        var text = Value(args, ref i);
        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new UsageException($"{option} '{text}' is not a whole number");
    }
}

public sealed class UsageException(string message) : Exception(message);
