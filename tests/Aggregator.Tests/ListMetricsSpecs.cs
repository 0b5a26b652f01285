using System.Diagnostics.Metrics;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// The lists gauge counts list actors where they live, whoever starts them: LocalLists on a
/// single node, the shard region in a cluster (where it read 0 before 2026-12-06).
/// </summary>
public sealed class ListMetricsSpecs : Akka.TestKit.Xunit2.TestKit
{
    public ListMetricsSpecs(ITestOutputHelper output) : base(Specs.System("list-metrics-specs"), output)
    {
    }

    [Fact]
    public async Task A_list_actor_should_count_itself_in_the_lists_gauge_from_its_start_to_its_stop()
    {
        // A meter factory of this spec's own: other specs' metrics, in parallel, never reach it.
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var metrics = new AggregatorMetrics(factory);
        long lists = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == "actors.aggregator.lists")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, change, _, _) => Interlocked.Add(ref lists, change));
        listener.Start();

        // Started as the shard region starts it: no LocalLists in between.
        var list = Sys.ActorOf(ListActor.Props("orders", Specs.Lists, metrics));
        list.Tell(Specs.Batch("orders", "w", 0, "x"), TestActor);
        await ExpectMsgAsync<BatchAppended>();
        Assert.Equal(1, Interlocked.Read(ref lists));

        // Terminated comes after the actor's PostStop has run.
        Watch(list);
        Sys.Stop(list);
        await ExpectTerminatedAsync(list);
        Assert.Equal(0, Interlocked.Read(ref lists));
    }
}
