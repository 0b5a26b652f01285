using Aggregator.Lists;
using Aggregator.Routing;
using Aggregator.Storage;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Persistence.Hosting;
using Akka.Remote.Hosting;
using Hosting;
using Protocol;

namespace Aggregator.Service;

/// <summary>
/// The aggregator's actor system, as Akka.Hosting builder calls: the HOCON file, remoting
/// (with TLS), the wire serializer, the lists (alone: <see cref="LocalLists"/>; in a cluster:
/// the shard region behind <see cref="ListsGateway"/>), and the journal. <c>serve</c> runs it
/// in its host (<see cref="AggregatorService"/>); the actor specs build their systems with it too.
/// </summary>
public static class AkkaWiring
{
    /// <summary>A single node's "shards": the extractor wants a count; alone it only names the list.</summary>
    private const int LocalShards = 1;

    /// <param name="clock">the lists' clock (producer retention, follow waits); the system's by default.</param>
    /// <param name="gateways">a cluster node's: completed once it is an Up member and both its gateways exist.</param>
    public static void Configure(AkkaConfigurationBuilder akka, ServeSettings serve, AggregatorMetrics metrics, TimeProvider? clock = null,
        TaskCompletionSource? gateways = null)
    {
        // Akka's log goes to the host's ILoggerFactory (the one-line stderr log in serve).
        akka.ConfigureLoggers(loggers =>
        {
            // OFF is not one of Akka's levels: ERROR there, and the one-line log's own level (none) drops it.
            loggers.LogLevel = serve.Quiet ? Akka.Event.LogLevel.WarningLevel
                : serve.File.LogLevel() is var level && level == "OFF" ? Akka.Event.LogLevel.ErrorLevel : Akka.Event.Logging.LogLevelFor(level);
            loggers.ClearLoggers();
            loggers.AddLoggerFactory();
        });

        // What Akka writes itself (to stdout, which the process sends to stderr) before its
        // loggers start and after they stop: the file's level, not the loggers' one.
        akka.AddHocon($"akka.stdout-loglevel = {serve.File.Config.GetString("akka.stdout-loglevel", "WARNING")}", HoconAddMode.Prepend);
        akka.AddHocon(serve.File.Config, HoconAddMode.Append)
            .WithRemoting(Remoting(serve))
            .WithCustomSerializer(ProtocolSerializer.Alias, ProtocolSerializer.BoundTypes, system => new ProtocolSerializer(system));
        if (serve.Cluster is { } cluster)
        {
            // Lists are entities of one shard region, with the persistence ids they have alone.
            // This system is the node's own (cluster port, node certificates, system messages
            // between nodes); workers reach only serve.Front, whose /user/lists hands their
            // requests to this system's /user/lists (FrontGateway, then ListsGateway).
            var front = serve.Front ?? throw new ArgumentException("a cluster node needs its worker-facing system", nameof(serve));
            akka.WithClustering(new ClusterOptions { SeedNodes = cluster.SeedAddresses() })
                .AddHocon("akka.remote.untrusted-mode = off", HoconAddMode.Prepend)
                .AddHocon($"akka.cluster.roles = [{HoconFile.Quote(ClusterLog.FrontRole + ((ExtendedActorSystem)front).Provider.DefaultAddress)}]",
                    HoconAddMode.Prepend)
                .WithShardRegion<ListsRegion>(ListsGateway.RegionName, name => ListActor.Props(name, serve.Lists, metrics, clock),
                    new ListMessageExtractor(cluster.Shards), new ShardOptions
                    {
                        StateStoreMode = StateStoreMode.DData,
                        RememberEntities = false,
                        HandOffStopMessage = ListActor.StopList.Instance,
                        ShouldPassivateIdleEntities = true,
                        PassivateIdleEntityAfter = cluster.PassivateIdleAfter,
                    })
                .WithActors((system, registry) =>
                {
                    system.ActorOf(ClusterLog.Props(), "cluster-log");

                    // The worker-facing system goes when this one does, after the hand-over.
                    CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate, "stop-worker-facing-system",
                        async () =>
                        {
                            await front.Terminate().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
                            return Akka.Done.Instance;
                        });

                    // And this one when the worker-facing one stops first (Akka.Remote stops it when
                    // an outgoing TLS handshake fails): a node without its workers' port holds shards
                    // nobody can reach. It leaves, handing them over, and the process exits 1.
                    // (During a shutdown already under way, this asks for nothing more.)
                    front.WhenTerminated.ContinueWith(
                        _ => CoordinatedShutdown.Get(system).Run(new WorkersSystemStoppedReason(CoordinatedShutdown.Get(front).ShutdownReason)),
                        TaskScheduler.Default);

                    // Workers find a node by its /user/lists: only once the node is an Up
                    // member, so that one still joining is not found, and they try the next.
                    var region = registry.Get<ListsRegion>();
                    Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() =>
                    {
                        // The node is ready (and says so) once both exist (AggregatorService): in this
                        // callback, not on one of its own (each runs on an actor of its own, in no set order).
                        var gateway = system.ActorOf(ListsGateway.Props(region, metrics, serve.Lists.PageMaxBytes), ActorNames.Lists);
                        registry.Register<ListsEntry>(gateway);
                        front.ActorOf(Routing.FrontGateway.Props(system, gateway, metrics), ActorNames.Lists);
                        gateways?.TrySetResult();
                    });
                });
        }
        else
        {
            // The same extractor as the cluster's region, and the same list actor: only the parent differs.
            akka.WithActors((system, registry) =>
                registry.Register<ListsEntry>(system.ActorOf(LocalListsProps(serve.Lists, metrics, clock), ActorNames.Lists)));
        }

        if (serve.Storage.Durable)
        {
            // The lists' journal (Aggregator.Storage.ListJournal) from the shipped file's
            // journal block, with the connection string and provider in front.
            akka.AddHocon(serve.Storage.PluginConfig(), HoconAddMode.Prepend)
                .WithActors((system, _) => system.ActorOf(JournalWarmUp.Props(), "journal-warm-up"));
        }
        else
        {
            akka.WithInMemoryJournal();
        }
    }

    /// <summary>A single node's <c>/user/lists</c>: a <see cref="LocalLists"/> over <see cref="ListActor"/>s, routed by the cluster's extractor.</summary>
    public static Props LocalListsProps(ListSettings lists, AggregatorMetrics metrics, TimeProvider? clock = null) =>
        LocalLists.Props(lists, metrics, name => ListActor.Props(name, lists, metrics, clock), new ListMessageExtractor(LocalShards));

    /// <summary>
    /// The command line's transport options over the file's (only those given): the workers'
    /// alone; a cluster node's own system's on the nodes' port, address and certificates.
    /// </summary>
    private static RemoteOptions Remoting(ServeSettings serve)
    {
        var options = serve.Cluster is { } cluster
            ? new RemoteOptions
            {
                HostName = cluster.Hostname ?? serve.Hostname,
                Port = cluster.Port,
                PublicHostName = cluster.Hostname is null ? serve.PublicHostname : null,
            }
            : new RemoteOptions { HostName = serve.Hostname, Port = serve.Port, PublicHostName = serve.PublicHostname };
        if ((serve.Cluster is null ? serve.Security : serve.Cluster.Security) is { } security)
        {
            options.EnableSsl = true;
            options.Ssl = new SslOptions
            {
                X509Certificate = security.Certificate,
                SuppressValidation = false,
                RequireMutualAuthentication = true,
                ValidateCertificateHostname = false,
                CustomValidator = security.Validate,
            };
        }

        return options;
    }
}
