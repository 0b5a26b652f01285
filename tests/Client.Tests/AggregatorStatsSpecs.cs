using System.Diagnostics.Metrics;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Client.Tests;

/// <summary>
/// <see cref="AggregatorClient.StatsAsync"/> against a scripted aggregator: it reads every page,
/// pages on past lists that did not answer, leaves out deleted lists, and says what the
/// aggregator could not.
/// </summary>
public sealed class AggregatorStatsSpecs(ITestOutputHelper output) : ScriptedAggregatorKit(output)
{
    [Fact]
    public async Task StatsAsync_should_page_past_lists_that_did_not_answer_and_name_them_with_the_silent_nodes()
    {
        await using var client = AggregatorClient.Create(new AggregatorClientOptions { ActorSystem = Sys, Contacts = Contact.ToString() });
        var stats = client.StatsAsync();

        Assert.Equal("", (await Aggregator.ExpectMsgAsync<GetStats>()).After);
        Aggregator.Reply(Page(more: true, ["a"], unanswered: ["b", "c"], silent: ["akka.tcp://aggregator@10.0.0.3:25520"]));
        // A page where no list answered still moves on, after its last name.
        Assert.Equal("c", (await Aggregator.ExpectMsgAsync<GetStats>()).After);
        Aggregator.Reply(Page(more: true, [], unanswered: ["d"], silent: ["akka.tcp://aggregator@10.0.0.3:25520"]));
        Assert.Equal("d", (await Aggregator.ExpectMsgAsync<GetStats>()).After);
        Aggregator.Reply(Page(more: false, ["e"], unanswered: [], silent: []));

        var result = await stats.WaitAsync(RemainingOrDefault);
        Assert.Equal(["a", "e"], result.Lists.Select(l => l.List));
        Assert.Equal(["b", "c", "d"], result.Unanswered);
        Assert.Equal(["akka.tcp://aggregator@10.0.0.3:25520"], result.SilentNodes);
        Assert.False(result.Complete);
    }

    [Fact]
    public async Task StatsAsync_should_be_complete_when_every_list_and_node_answered_and_record_its_duration()
    {
        var durations = new System.Collections.Concurrent.ConcurrentQueue<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ClientDiagnostics.Name && instrument.Name == "actors.client.operation.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "operation", Value: "stats" })
                {
                    durations.Enqueue(value);
                }
            }
        });
        listener.Start();
        await using var client = AggregatorClient.Create(new AggregatorClientOptions { ActorSystem = Sys, Contacts = Contact.ToString() });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var stats = client.StatsAsync();

        await Aggregator.ExpectMsgAsync<GetStats>();
        Aggregator.Reply(Page(more: false, ["a", "b"], unanswered: [], silent: []));

        var result = await stats.WaitAsync(RemainingOrDefault);
        var took = clock.Elapsed.TotalSeconds;
        Assert.Equal(["a", "b"], result.Lists.Select(l => l.List));
        Assert.True(result.Complete);
        Assert.Equal(("akka.tcp://aggregator@127.0.0.1:25520", "9.9.9"), (result.Node, result.Version));
        Assert.Contains(durations, seconds => seconds > 0 && seconds <= took);
    }

    [Fact]
    public async Task StatsAsync_should_leave_out_deleted_lists_and_page_on_after_them()
    {
        await using var client = AggregatorClient.Create(new AggregatorClientOptions { ActorSystem = Sys, Contacts = Contact.ToString() });
        var stats = client.StatsAsync();

        await Aggregator.ExpectMsgAsync<GetStats>();
        var first = Page(more: true, ["a"], unanswered: [], silent: []);
        first.Lists.Add(new ListStats { List = "b", Deleted = true });
        first.Lists.Add(new ListStats { List = "c" }); // empty, never deleted: a count of an unused name started it
        first.Lists.Add(new ListStats { List = "d", Deleted = true });
        Aggregator.Reply(first);
        Assert.Equal("d", (await Aggregator.ExpectMsgAsync<GetStats>()).After);
        Aggregator.Reply(Page(more: false, ["e"], unanswered: [], silent: []));

        var result = await stats.WaitAsync(RemainingOrDefault);
        Assert.Equal(["a", "c", "e"], result.Lists.Select(l => l.List));
        Assert.True(result.Complete);
    }

    private static Stats Page(bool more, string[] lists, string[] unanswered, string[] silent)
    {
        var page = new Stats { More = more, Node = "akka.tcp://aggregator@127.0.0.1:25520", Version = "9.9.9" };
        page.Lists.AddRange(lists.Select(name => new ListStats { List = name, Length = 1, Node = page.Node, Version = page.Version }));
        page.Unanswered.AddRange(unanswered);
        page.SilentNodes.AddRange(silent);
        return page;
    }
}
