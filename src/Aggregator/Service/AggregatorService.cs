using Aggregator.Lists;
using Aggregator.Routing;
using Aggregator.Storage;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Event;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;
using Akka.Hosting;
using Akka.Persistence.Hosting;
using Akka.Remote.Hosting;
using Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Protocol;

namespace Aggregator.Service;

/// <summary>
/// What one aggregator process serves with: its checked configuration, where its lists live,
/// and where metrics and health are served (off when null).
/// </summary>
public sealed record ServeSettings(
    HoconFile File,
    ListSettings Lists,
    JournalStorage Storage,
    AggregatorTls? Security,
    string? Hostname = null,
    int? Port = null,
    string? PublicHostname = null,
    Endpoint? Metrics = null,
    bool Quiet = false,
    ClusterSettings? Cluster = null,
    ActorSystem? Front = null);

/// <summary>
/// The aggregator's whole wiring, on Akka.Hosting and the .NET generic host: the actor
/// system from the HOCON file, remoting (with TLS), the journal, the wire serializer, the
/// lists actor in the <see cref="ActorRegistry"/>, the ready line, and, when asked,
/// Prometheus metrics and health checks over HTTP. SIGINT/SIGTERM stop the host, which runs
/// CoordinatedShutdown.
/// </summary>
public static class AggregatorService
{
    public const string LiveTag = "live";

    /// <summary>The runtime's gauges whose names end in .count, and the names they are exported under.</summary>
    private static readonly Dictionary<string, string> RuntimeGaugeNames = new(StringComparer.Ordinal)
    {
        ["dotnet.assembly.count"] = "dotnet.assemblies.loaded",
        ["dotnet.process.cpu.count"] = "dotnet.process.cpus",
        ["dotnet.thread_pool.thread.count"] = "dotnet.thread_pool.threads",
        ["dotnet.timer.count"] = "dotnet.timers",
    };
    public const string ReadyTag = "ready";

    /// <summary>
    /// Creates the host's actor system now, so that a port in use or an address not of this
    /// machine is one line naming <paramref name="endpoint"/>, not the host's stack trace.
    /// </summary>
    /// <exception cref="StartupException">the actor system did not start.</exception>
    public static ActorSystem StartSystem(IHost host, string endpoint, string option)
    {
        try
        {
            return host.Services.GetRequiredService<ActorSystem>();
        }
        catch (Exception e)
        {
            throw StartupException.CannotListen(e, endpoint, option);
        }
    }

    public static IHost Build(ServeSettings serve, TextWriter stdout)
    {
        if (serve.Metrics is not { } metrics)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            AddLogging(builder.Logging, serve);
            AddServices(builder.Services, serve, stdout);
            return builder.Build();
        }

        var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        AddLogging(web.Logging, serve);
        web.WebHost.UseUrls($"http://{metrics}");
        AddServices(web.Services, serve, stdout);
        web.Services.AddOpenTelemetry().WithMetrics(meters => meters
            .AddMeter(AggregatorMetrics.MeterName)
            // The runtime's own instruments: GC, heap, CPU, working set, thread pool, JIT, exceptions.
            .AddMeter("System.Runtime")
            // Prometheus keeps the suffix _count for histograms: the runtime's gauges named *.count are renamed.
            .AddView(instrument => instrument.Meter.Name == "System.Runtime" && RuntimeGaugeNames.TryGetValue(instrument.Name, out var name)
                ? new MetricStreamConfiguration { Name = name }
                : null)
            .AddPrometheusExporter(exporter => exporter.ScrapeResponseCacheDurationMilliseconds = 0));
        var app = web.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }

    /// <summary>
    /// The one-line stderr log at the file's level (WARNING for the demo's quiet aggregator);
    /// the host's and ASP.NET Core's own lines only from WARNING up: operators read Akka's.
    /// </summary>
    private static void AddLogging(ILoggingBuilder logging, ServeSettings serve)
    {
        var level = serve.File.LogLevel();
        logging.AddOneLineStderr(serve.Quiet ? LogLevel.Warning : OneLineLogging.LevelOf(level), traces: level == "DEBUG")
            .AddFilter("Microsoft", LogLevel.Warning);
    }

    private static void AddServices(IServiceCollection services, ServeSettings serve, TextWriter stdout)
    {
        services.AddMetrics();
        services.AddSingleton<AggregatorMetrics>();
        var health = services.AddHealthChecks();
        var accepting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gateways = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); // a cluster node's, made once it is Up
        if (serve.Storage.Durable)
        {
            // Asks the database itself at every probe: the journal's circuit breakers alone
            // would read healthy while nothing is written.
            health.AddCheck("journal", new JournalHealthCheck(serve.Storage), tags: [ReadyTag]);
        }
        services.AddAkka(serve.Cluster is null ? ActorNames.AggregatorSystem : ActorNames.ClusterSystem, (akka, provider) =>
        {
            var metrics = provider.GetRequiredService<AggregatorMetrics>();
            var lifetime = provider.GetRequiredService<IHostApplicationLifetime>();
            AkkaWiring.Configure(akka, serve, metrics, gateways: gateways);
            akka.WithActorSystemLivenessCheck(tags: [LiveTag])
                .WithHealthCheck("remoting", (system, _, _) => Task.FromResult(Readiness.Of(accepting.Task.IsCompleted,
                    serve.Cluster is null ? null : Akka.Cluster.Cluster.Get(system).SelfMember.Status)), tags: [ReadyTag])
                .AddStartup((system, _) =>
                {
                    if (!serve.Quiet)
                    {
                        Announce(system, serve);
                    }

                    // One callback marks the node ready, then prints the line: /health/ready is
                    // ready by the time the line is read (two callbacks would race each other). A
                    // cluster node's once it is Up and its gateways exist: workers find it by them.
                    lifetime.ApplicationStarted.Register(serve.Cluster is null
                        ? Accepting
                        : () => gateways.Task.ContinueWith(_ => Accepting(), TaskScheduler.Default));
                    void Accepting()
                    {
                        accepting.TrySetResult();
                        if (!serve.Quiet)
                        {
                            PrintReady(system, serve, stdout);
                        }
                    }
                });
        });
    }

    /// <summary>
    /// Once the actor system and its actors have started (remoting listens: its address is
    /// bound), logs where and how the aggregator serves.
    /// </summary>
    private static void Announce(ActorSystem system, ServeSettings serve)
    {
        var address = AddressOf(system, serve);
        var bindHost = system.Settings.Config.GetString("akka.remote.dot-netty.tcp.hostname");
        system.Log.Info("Aggregator {0} listening on {1}{2}; lists {3}", ProductInfo.Version, address,
            serve.Security is null ? "" : " with mutual TLS", serve.Storage.Description);
        if (serve.Cluster is { } cluster)
        {
            system.Log.Info("Cluster mode: this node talks to the others at {0}{1}; joining through the seed nodes {2}; lists sharded over {3} shards; each list's writes fenced in the journal",
                ((ExtendedActorSystem)system).Provider.DefaultAddress, cluster.Security is null ? "" : " with mutual TLS", string.Join(", ", cluster.Seeds),
                cluster.Shards);
        }

        var loopback = bindHost == "localhost" || (System.Net.IPAddress.TryParse(bindHost, out var ip) && System.Net.IPAddress.IsLoopback(ip));
        if (!loopback && serve.Security is null)
        {
            system.Log.Warning(
                "Listening on {0} without TLS: anyone who can reach port {1} can append to, read and delete every list{2}, and the items cross the network in clear. Bind to 127.0.0.1 unless the network is private (docs/operations.md)",
                bindHost, address.Port, serve.Cluster is null ? "" : ", and, since cluster nodes trust each other's system messages, stop actors and remove nodes");
        }

        if (serve.Metrics is { } metrics)
        {
            system.Log.Info("Metrics at http://{0}/metrics, health at http://{0}/health/live and http://{0}/health/ready", metrics);
        }
    }

    /// <summary>
    /// The one ready line, when every other part of the host has started too (the metrics
    /// endpoint); in a cluster, once this node is an Up member: before that it could not route.
    /// </summary>
    private static void PrintReady(ActorSystem system, ServeSettings serve, TextWriter stdout)
    {
        stdout.WriteLine($"ready {AddressOf(system, serve)}");
        stdout.Flush();
        if (StartupProfile.Requested)
        {
            system.Log.Info("At the ready line: {0}", StartupProfile.Describe());
        }
    }

    private static Address AddressOf(ActorSystem system, ServeSettings serve) =>
        ((ExtendedActorSystem)(serve.Front ?? system)).Provider.DefaultAddress;
}
