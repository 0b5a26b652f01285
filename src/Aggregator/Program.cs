using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Event;
using Protocol;

namespace Aggregator;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Stdout carries the product's output only (the ready line, the demo's list);
        // everything else, Akka's logging included, goes to stderr.
        var stdout = Console.Out;
        Console.SetOut(Console.Error);
        try
        {
            var line = CommandLine.Parse(args);
            return line.Command switch
            {
                "serve" => await ServeAsync(line, stdout),
                "demo" => await Demo.RunAsync(line, stdout),
                _ => Help(stdout),
            };
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync($"Aggregator: {e.Message}\n\n{CommandLine.Usage}");
            return ExitCodes.Usage;
        }
        catch (ConfigurationException e)
        {
            await Console.Error.WriteLineAsync($"Aggregator: configuration error: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (StartupException e)
        {
            await Console.Error.WriteLineAsync($"Aggregator: {e.Message}");
            return ExitCodes.Failure;
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync($"Aggregator: failed: {e.GetBaseException().Message}");
            return ExitCodes.Failure;
        }
    }

    private static int Help(TextWriter stdout)
    {
        stdout.WriteLine(CommandLine.Usage);
        return ExitCodes.Success;
    }

    private static async Task<int> ServeAsync(CommandLine line, TextWriter stdout)
    {
        var host = AggregatorHost.Start(line.ConfigFile, Overrides(line), line.InMemory, line.DataDirectory);
        var shutdown = CoordinatedShutdown.Get(host.System);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        host.System.Log.Info("Aggregator listening on {0}{1}; lists {2}", host.Address,
            host.Tls ? " with mutual TLS" : "", host.Storage.Description);
        if (!host.LoopbackOnly && !host.Tls)
        {
            host.System.Log.Warning(
                "Listening on {0} without TLS: anyone who can reach port {1} can append to, read and delete every list, and the items cross the network in clear. Bind to 127.0.0.1 unless the network is private (docs/operations.md)",
                host.BindHost, host.Address.Port);
        }
        await stdout.WriteLineAsync($"ready {host.Address}");
        await stdout.FlushAsync();
        await host.System.WhenTerminated;

        // Only SIGINT/SIGTERM stop the aggregator cleanly; Akka.Remote also stops the whole
        // system when a TLS handshake it started fails.
        var reason = shutdown.ShutdownReason;
        if (reason is not null and not CoordinatedShutdown.ClrExitReason)
        {
            await Console.Error.WriteLineAsync($"Aggregator: the actor system stopped: {reason}");
            return ExitCodes.Failure;
        }

        return ExitCodes.Success;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            _ = shutdown.Run(CoordinatedShutdown.ClrExitReason.Instance);
        }
    }

    internal static IEnumerable<KeyValuePair<string, string>> Overrides(CommandLine line)
    {
        const string tcp = "akka.remote.dot-netty.tcp.";
        if (line.Hostname is not null)
        {
            yield return new(tcp + "hostname", line.Hostname);
        }

        if (line.Port is not null)
        {
            yield return new(tcp + "port", line.Port.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (line.PublicHostname is not null)
        {
            yield return new(tcp + "public-hostname", line.PublicHostname);
        }

        foreach (var tls in TransportSecurity.Overrides(line.TlsCertificate, line.TlsKey, line.TlsAuthority))
        {
            yield return tls;
        }
    }
}
