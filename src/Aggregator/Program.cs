using System.Net.Sockets;
using Aggregator.Cli;
using Aggregator.Lists;
using Aggregator.Service;
using Aggregator.Storage;
using Akka.Actor;
using Akka.Event;
using Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Aggregator;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Stdout carries the product's output only (the ready line, the demo's list, help);
        // everything else, Akka's logging included, goes to stderr.
        var stdout = Console.Out;
        Console.SetOut(Console.Error);
        try
        {
            var line = CommandLine.Parse(args, stdout);
            return line?.Command switch
            {
                null => ExitCodes.Success,
                "serve" => await ServeAsync(line, stdout),
                _ => await Demo.RunAsync(line, stdout),
            };
        }
        catch (Exception e)
        {
            return await CommandLine.Common.FailAsync(e, e is StartupException ? (ExitCodes.Failure, e.Message) : null);
        }
    }

    private static async Task<int> ServeAsync(CommandLine line, TextWriter stdout)
    {
        var file = HoconFile.Load(line.ConfigFile, "aggregator.hocon");
        var security = TransportSecurity.From(file, line.Tls);
        var metricsPort = line.MetricsPort ?? file.GetInt("actors.metrics.port", 0, 65535);
        Endpoint? metrics = metricsPort == 0
            ? null
            : new Endpoint(line.MetricsHostname ?? file.GetString("actors.metrics.hostname"), metricsPort);
        var cluster = ClusterOptions.Read(file, line, security);
        if (cluster is not null)
        {
            JournalStorage.RequireShared(file, line.InMemory, line.DataDirectory);
        }

        var leaseTime = DatabaseLease.TimeFrom(file);

        using var storage = line.InMemory ? JournalStorage.InMemory() : JournalStorage.Open(file, line.DataDirectory);
        var hostname = line.Hostname ?? file.GetString("akka.remote.dot-netty.tcp.hostname");

        // In a cluster, workers reach the node's worker-facing system only; its lists live in the cluster system.
        using var frontLogging = cluster is null ? null : OneLineLogging.FactoryFor(file);
        var front = cluster is null ? null : FrontDoor.Start(file, security, line.Hostname, line.Port, line.PublicHostname, frontLogging!);
        try
        {
            var lists = ListSettings.From(file, storage.Durable) with
            {
                Node = front is null ? string.Empty : ((ExtendedActorSystem)front).Provider.DefaultAddress.ToString(),
                ConfirmReadsAfter = cluster?.ConfirmReadsAfter,
            };
            var serve = new ServeSettings(file, lists, storage, security, line.Hostname, line.Port, line.PublicHostname, metrics,
                Cluster: cluster, Front: front);
            using var host = AggregatorService.Build(serve, stdout);
            var system = cluster is null
                ? AggregatorService.StartSystem(host, $"{hostname}:{line.Port ?? file.GetInt("akka.remote.dot-netty.tcp.port", 0, 65535)}", "--port")
                : AggregatorService.StartSystem(host, $"{cluster.Hostname ?? hostname}:{cluster.Port}", "--cluster-port");
            // Once this process holds its port (its name for the lease), before any list loads or the node
            // takes shards (a node has joined its cluster by then: refused, it leaves again).
            await using var lease = await TakeLeaseAsync(file, storage, system, leaseTime, cluster is null ? LeaseRole.LoneAggregator : LeaseRole.ClusterNode);
            using var keeper = lease is null ? null : new LeaseKeeper(lease, system);
            try
            {
                await (keeper?.StartAsync(CancellationToken.None) ?? Task.CompletedTask);
                await host.StartAsync();
            }
            catch (IOException e) when (metrics is not null)
            {
                await system.Terminate();
                throw new StartupException($"cannot serve metrics on http://{metrics}: {e.Message}", e);
            }

            await host.WaitForShutdownAsync();
            await (keeper?.StopAsync(CancellationToken.None) ?? Task.CompletedTask);

            // The host's logger factory goes with the host: let the actor system log its last lines first.
            await system.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
            return Outcome(system);
        }
        finally
        {
            if (front is not null)
            {
                await front.Terminate().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>How serve ends once the host has stopped: 0 after SIGINT/SIGTERM, else the reason the actor system stopped.</summary>
    private static int Outcome(ActorSystem system)
    {
        // SIGINT/SIGTERM stop the host, which runs CoordinatedShutdown for the CLR's exit;
        // anything else that stopped the actor system (Akka.Remote stops it when a TLS
        // handshake it started fails) is a failure.
        var problem = CoordinatedShutdown.Get(system).ShutdownReason switch
        {
            null or CoordinatedShutdown.ClrExitReason => null,
            CoordinatedShutdown.ClusterDowningReason =>
                "the cluster removed this node (it was unreachable, or on the minority side of a split); its lists moved to the other nodes. Start it again to rejoin",
            LeaseLostReason => LeaseLostReason.Message,
            WorkersSystemStoppedReason workers => workers.Message,
            var reason => $"the actor system stopped: {reason}",
        };
        return problem is null ? ExitCodes.Success : throw new StartupException(problem);
    }

    /// <summary>
    /// A lone aggregator that loads every list at start, and a cluster's node, take a lease on
    /// their PostgreSQL database before any list loads: a second lone aggregator on the same
    /// database, or a lone aggregator and a cluster, are refused (or, if the holder died, wait
    /// for its lease to lapse) instead of taking each other's lists. Null where nothing is leased.
    /// </summary>
    /// <exception cref="StartupException">another aggregator holds the lease (the actor system is stopped first).</exception>
    private static async Task<DatabaseLease?> TakeLeaseAsync(HoconFile file, JournalStorage storage, ActorSystem system, TimeSpan time, LeaseRole role)
    {
        if (!storage.Postgres || (role == LeaseRole.LoneAggregator && !file.GetBoolean("actors.aggregator.load-lists-at-start")))
        {
            return null;
        }

        var bound = ((ExtendedActorSystem)system).Provider.DefaultAddress;
        try
        {
            return await DatabaseLease.TakeAsync(storage.ConnectionString!, DatabaseLease.WholeDatabase,
                LeaseClaimant.Of(bound.Host!, bound.Port!.Value, role), time, message => system.Log.Warning("{0}", message), CancellationToken.None);
        }
        catch (StartupException)
        {
            await system.Terminate();
            throw;
        }
    }
}
