using System.Runtime.InteropServices;
using Akka.Actor;
using Hosting;
using Protocol;

namespace Worker;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Stdout carries the product's output only; Akka's logging goes to stderr.
        var stdout = Console.Out;
        Console.SetOut(Console.Error);
        ActorSystem? system = null;
        try
        {
            var line = CommandLine.Parse(args, stdout);
            if (line is null)
            {
                return ExitCodes.Success;
            }

            var file = HoconFile.Load(line.ConfigFile, "worker.hocon");
            var settings = WorkerSettings.From(file);
            var security = TransportSecurity.From(file, line.Tls);
            system = ActorSystem.Create(ActorNames.WorkerSystem, TransportSecurity.SystemSetup(file.Config, security));
            var connectTimeout = line.ConnectTimeoutSeconds is { } s ? TimeSpan.FromSeconds(s) : settings.ConnectTimeout;
            var client = new AggregatorClient(
                new AggregatorLocator(system, line.Aggregators, settings.MinBackoff, settings.MaxBackoff),
                connectTimeout, settings.RequestTimeout, settings.UnavailableTimeout, settings.MinBackoff, settings.MaxBackoff);
            using var stop = new CancellationTokenSource();
            var signalCode = ExitCodes.Interrupted;
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
            var work = line.Command switch
            {
                "append" => AppendCommand.RunAsync(line, settings, system, stdout, stop.Token),
                "get" => ReadCommands.GetAsync(line, client, Console.OpenStandardOutput()),
                "count" => ReadCommands.CountAsync(line, client, stdout),
                "delete" => ReadCommands.DeleteAsync(line, client, stdout),
                "latency" => LatencyCommand.RunAsync(line, client, stdout),
                "stats" => ReadCommands.StatsAsync(line, client, stdout),
                "follow" => ReadCommands.FollowAsync(line, client, Console.OpenStandardOutput(), TimeSpan.FromSeconds(10), stop.Token),
                _ => throw new UsageException($"unknown command '{line.Command}'"),
            };

            // The transport stops the whole actor system when a TLS handshake it started fails;
            // nothing would answer the command any more.
            if (await Task.WhenAny(work, system.WhenTerminated) != work)
            {
                return await StoppedAsync(CoordinatedShutdown.Get(system).ShutdownReason, security, client.Endpoint);
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
            return await CommandLine.Common.FailAsync(e, e switch
            {
                InputException => (ExitCodes.Usage, $"bad input: {e.Message}"),
                AggregatorUnreachableException => (ExitCodes.Unreachable, e.Message),
                RequestRefusedException refused => (refused.ExitCode, $"the aggregator refused the request: {e.Message}"),
                _ => null,
            });
        }
        finally
        {
            if (system is not null)
            {
                // The transport's shutdown chatter is no news to the user.
                system.EventStream.SetLogLevel(Akka.Event.LogLevel.ErrorLevel);
                await system.Terminate().WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            if (StartupProfile.Requested)
            {
                await Console.Error.WriteLineAsync(StartupProfile.Describe());
            }
        }
    }

    /// <summary>The actor system ended before the command: a failed TLS handshake (exit 2), Ctrl+C, or anything else (exit 1).</summary>
    private static async Task<int> StoppedAsync(CoordinatedShutdown.Reason? reason, TransportSecurity? security, string endpoint) => reason switch
    {
        CoordinatedShutdown.ClrExitReason => ExitCodes.Interrupted,
        _ when security is not null && reason?.GetType().Name == "TlsHandshakeFailureReason" => await CommandLine.Common.ExitAsync(ExitCodes.Usage,
            security.LastRefusal is { } refusal
                ? $"the TLS handshake with the aggregator at {endpoint} failed: {refusal} (--tls-ca names the authority this worker trusts)"
                : $"the connection to the aggregator at {endpoint} failed its TLS handshake: the aggregator refused this worker's certificate, or does not use TLS"),
        _ => await CommandLine.Common.ExitAsync(ExitCodes.Failure, $"the actor system stopped: {reason?.ToString() ?? "no reason given"}"),
    };
}
