using Actors.Client;
using Aggregator.Routing;
using Aggregator.Service;
using Aggregator.Storage;
using Akka.Actor;
using Akka.Hosting;
using Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregator.Tests;

/// <summary>A cluster node as <c>serve --cluster</c> builds it (a one-node cluster, in memory): its two actor systems.</summary>
public sealed class ClusterNodeSpecs
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Akka.Remote stops the workers' actor system when an outgoing TLS handshake fails: the
    /// node then leaves and stops too, with a reason of its own (exit 1), instead of holding
    /// shards that no worker can reach, ready by its health check, for ever.
    /// </summary>
    [Fact]
    public async Task A_cluster_node_should_stop_when_its_workers_actor_system_stops_first()
    {
        var file = HoconFile.Shipped("aggregator.hocon");
        var front = FrontDoor.Start(file, security: null, "127.0.0.1", 0, publicHostname: null, NullLoggerFactory.Instance);
        try
        {
            var port = Specs.FreePort();
            var cluster = new ClusterSettings([new Endpoint("127.0.0.1", port)], Shards: 10, PassivateIdleAfter: TimeSpan.FromMinutes(2), port,
                "127.0.0.1", Security: null);
            var serve = new ServeSettings(file, Specs.Lists, JournalStorage.InMemory(), Security: null, "127.0.0.1", Quiet: true,
                Cluster: cluster, Front: front);
            using var host = AggregatorService.Build(serve, TextWriter.Null);
            await host.StartAsync().WaitAsync(Bound);
            var system = host.Services.GetRequiredService<ActorSystem>();
            // Up, its gateways made (polled: ActorRegistry.GetAsync misses a registration made
            // between its look and its wait).
            var registry = host.Services.GetRequiredService<ActorRegistry>();
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (!registry.TryGet<ListsEntry>(out _))
            {
                Assert.True(waited.Elapsed < Bound, "the node's gateways were not made");
                await Task.Delay(20);
            }

            await front.Terminate().WaitAsync(Bound);

            await system.WhenTerminated.WaitAsync(Bound);
            var reason = Assert.IsType<WorkersSystemStoppedReason>(CoordinatedShutdown.Get(system).ShutdownReason);
            Assert.StartsWith("the workers' actor system stopped (", reason.Message);
            await host.StopAsync().WaitAsync(Bound);
        }
        finally
        {
            await front.Terminate().WaitAsync(Bound);
        }
    }
}
