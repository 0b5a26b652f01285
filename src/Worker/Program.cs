using System.Runtime.InteropServices;
using Akka.Actor;
using Hosting;
using Microsoft.Extensions.Logging;

namespace Worker;

/// <summary>
/// The Worker command line: parses, reads the configuration, makes the client library's
/// <see cref="AggregatorClient"/>, runs the command, and turns what ended it into an exit code
/// and one line on stderr (<see cref="Failures"/>).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Stdout carries the product's output only; Akka's logging goes to stderr.
        var stdout = Console.Out;
        Console.SetOut(Console.Error);
        AggregatorClient? client = null;
        AggregatorTls? security = null;
        ILoggerFactory? logging = null;
        try
        {
            var line = CommandLine.Parse(args, stdout);
            if (line is null)
            {
                return ExitCodes.Success;
            }

            var file = HoconFile.Load(line.ConfigFile, "worker.hocon");
            var options = WorkerSettings.From(file);
            logging = OneLineLogging.FactoryFor(file);
            options.LoggerFactory = logging;
            security = TransportSecurity.From(file, line.Tls);
            options.Tls = security;
            options.Contacts = string.Join(",", line.Aggregators);
            if (line.ConnectTimeoutSeconds is { } seconds)
            {
                options.ConnectTimeout = TimeSpan.FromSeconds(seconds);
            }

            client = AggregatorClient.Create(options);
            using var stop = new CancellationTokenSource();
            var signalCode = ExitCodes.Interrupted;
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
            var list = client.List(line.List);
            var work = line.Command switch
            {
                "append" => AppendCommand.RunAsync(line, list, options, stdout, stop.Token),
                "get" => ReadCommands.GetAsync(line, list, Console.OpenStandardOutput()),
                "count" => ReadCommands.CountAsync(line, list, stdout),
                "delete" => ReadCommands.DeleteAsync(line, list, stdout),
                "latency" => LatencyCommand.RunAsync(line, client, stdout),
                "stats" => ReadCommands.StatsAsync(line, client, stdout),
                "follow" => ReadCommands.FollowAsync(line, list, Console.OpenStandardOutput(), stop.Token),
                _ => throw new UsageException($"unknown command '{line.Command}'"),
            };

            // The transport stops the whole actor system when a TLS handshake it started fails;
            // nothing would answer the command any more, and a producer that was waiting says
            // it was stopped (its failure may come before the system's end): the stop's reason
            // is what the user needs.
            if (await Task.WhenAny(work, client.WhenTerminated) != work || (work.IsFaulted && client.ShutdownReason is not null))
            {
                return await Failures.StoppedAsync(client.ShutdownReason, security, client.Endpoint);
            }

            var exit = await work;
            await stdout.FlushAsync();
            return exit == ExitCodes.Interrupted && stop.IsCancellationRequested ? signalCode : exit;

            // Ctrl+C (or SIGTERM) ends follow normally (exit 0), and an append with a summary of
            // what is acknowledged (exit 130, or 143 for SIGTERM, as shells report the signal).
            // An append blocked reading a terminal cannot see the cancellation: it is ended
            // after a grace period. Other commands end at once, as the signal's default does.
            void Interrupt(PosixSignalContext context)
            {
                if (line.Command is "follow" or "append")
                {
                    context.Cancel = true;
                    signalCode = context.Signal == PosixSignal.SIGTERM ? ExitCodes.Terminated : ExitCodes.Interrupted;
                    stop.Cancel();
                    if (line.Command == "append")
                    {
                        var code = signalCode;
                        _ = Task.Delay(TimeSpan.FromSeconds(3)).ContinueWith(_ => Environment.Exit(code), TaskScheduler.Default);
                    }
                }
            }
        }
        catch (Exception e)
        {
            return await CommandLine.Common.FailAsync(e, Failures.Of(e));
        }
        finally
        {
            if (client is not null)
            {
                await client.DisposeAsync();
            }

            logging?.Dispose(); // writes out what is queued
            if (StartupProfile.Requested)
            {
                await Console.Error.WriteLineAsync(StartupProfile.Describe());
            }
        }
    }
}
