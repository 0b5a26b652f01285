using Protocol;

namespace Aggregator;

/// <summary>The aggregator's command line, parsed; <see cref="UsageException"/> on anything else.</summary>
public sealed record CommandLine(string Command, string? ConfigFile, string? Hostname, int? Port, string? PublicHostname,
    string? DataDirectory, bool InMemory, string? TlsCertificate = null, string? TlsKey = null, string? TlsAuthority = null)
{
    public const string Usage = """
        Usage:
          Aggregator serve [--config FILE] [--hostname H] [--port P] [--public-hostname H] [--data DIR | --in-memory]
                           [--tls-cert FILE [--tls-key FILE] --tls-ca FILE]
          Aggregator demo  [--config FILE]
          Aggregator help

        serve   host the lists and accept workers; prints "ready <address>" on stdout when it accepts work.
                Stop it with Ctrl+C or SIGTERM.
        demo    the reference scenario: two worker processes append five items each; prints the final list as JSON.

        Options:
          --config FILE           HOCON file (default: aggregator.hocon next to the executable)
          --hostname H            address to bind (default 127.0.0.1; 0.0.0.0 for every interface)
          --port P                TCP port (default 25520; 0 picks a free port)
          --public-hostname H     the name other machines use to reach this one (NAT, containers)
          --data DIR              journal lists in DIR (default ./data, an embedded SQLite database)
          --in-memory             keep lists in memory only: nothing survives a restart
          --tls-cert FILE         mutual TLS: this aggregator's certificate (PEM with --tls-key, or PKCS#12
                                  with its password in $ACTORS_TLS_PASSWORD); workers must present one too
          --tls-key FILE          the PEM private key of --tls-cert
          --tls-ca FILE           the certificate authority (PEM) whose certificates are trusted

        Exit codes: 0 success, 1 failure, 2 bad usage or configuration.
        """;

    public static CommandLine Parse(string[] args)
    {
        if (args.Length == 0)
        {
            throw new UsageException("a command is required: serve, demo or help");
        }

        var command = args[0];
        if (command is "help" or "--help" or "-h")
        {
            return new CommandLine("help", null, null, null, null, null, false);
        }

        if (command is not ("serve" or "demo"))
        {
            throw new UsageException($"unknown command '{command}'");
        }

        string? config = null, hostname = null, publicHostname = null, data = null, tlsCert = null, tlsKey = null, tlsCa = null;
        int? port = null;
        var inMemory = false;
        for (var i = 1; i < args.Length; i++)
        {
            var option = args[i];
            switch (option)
            {
                case "--config":
                    config = Value(args, ref i);
                    break;
                case "--hostname" when command == "serve":
                    hostname = Value(args, ref i);
                    break;
                case "--public-hostname" when command == "serve":
                    publicHostname = Value(args, ref i);
                    break;
                case "--port" when command == "serve":
                    var text = Value(args, ref i);
                    port = int.TryParse(text, out var p) && p is >= 0 and <= 65535
                        ? p
                        : throw new UsageException($"--port '{text}' is not a port number (0 to 65535)");
                    break;
                case "--data" when command == "serve":
                    data = Value(args, ref i);
                    break;
                case "--in-memory" when command == "serve":
                    inMemory = true;
                    break;
                case "--tls-cert" when command == "serve":
                    tlsCert = Value(args, ref i);
                    break;
                case "--tls-key" when command == "serve":
                    tlsKey = Value(args, ref i);
                    break;
                case "--tls-ca" when command == "serve":
                    tlsCa = Value(args, ref i);
                    break;
                case "--help" or "-h":
                    return new CommandLine("help", null, null, null, null, null, false);
                default:
                    throw new UsageException(option.StartsWith('-')
                        ? $"unknown option '{option}' for '{command}'"
                        : $"unexpected argument '{option}'");
            }
        }

        if (data is not null && inMemory)
        {
            throw new UsageException("--data and --in-memory exclude each other");
        }

        if ((tlsKey is not null || tlsCa is not null) && tlsCert is null)
        {
            throw new UsageException("--tls-key and --tls-ca go with --tls-cert");
        }

        return new CommandLine(command, config, hostname, port, publicHostname, data, inMemory, tlsCert, tlsKey, tlsCa);
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
        {
            throw new UsageException($"{args[i]} needs a value");
        }

        return args[++i];
    }
}

public sealed class UsageException(string message) : Exception(message);
