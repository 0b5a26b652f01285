using Aggregator.Routing;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// One stats page: every list's figures once all have answered, or at the time-out those that
/// have and the names of those that have not. The scheduler is the TestKit's, moved by hand.
/// </summary>
public sealed class StatsCollectorSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(
    Specs.Setup(ConfigurationFactory.ParseString("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")),
    "stats-collector-specs", output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    [Fact]
    public async Task StatsCollector_should_reply_in_name_order_once_every_list_has_answered()
    {
        var (b, a) = (CreateTestProbe(), CreateTestProbe());
        Start([(b.Ref, "b"), (a.Ref, "a")], silentNodes: ["akka.tcp://aggregator@10.0.0.9:25520"]);

        await b.ExpectMsgAsync<GetListStats>(m => m.List == "b");
        b.Reply(new ListStats { List = "b", Length = 2 });
        await a.ExpectMsgAsync<GetListStats>(m => m.List == "a");
        a.Reply(new ListStats { List = "a", Length = 1 });

        var stats = await ExpectMsgAsync<Stats>(); // no time moved: the answers alone
        Assert.Equal(["a", "b"], stats.Lists.Select(l => l.List));
        Assert.Equal([1ul, 2ul], stats.Lists.Select(l => l.Length));
        Assert.Empty(stats.Unanswered);
        Assert.Equal(["akka.tcp://aggregator@10.0.0.9:25520"], stats.SilentNodes);
        Assert.True(stats.More);
    }

    [Fact]
    public async Task StatsCollector_should_name_the_lists_that_have_not_answered_when_its_time_is_up_and_not_before()
    {
        var (a, b, c) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        var collector = Start([(a.Ref, "a"), (c.Ref, "c"), (b.Ref, "b")]);
        await a.ExpectMsgAsync<GetListStats>();
        await b.ExpectMsgAsync<GetListStats>();
        await c.ExpectMsgAsync<GetListStats>();
        a.Reply(new ListStats { List = "a", Length = 7 });
        a.Reply(new ListStats { List = "a", Length = 7 }); // twice: counted once
        a.Reply(new ListStats { List = "z" });            // not asked: ignored

        // Identify is answered after PreStart, which started the timer.
        collector.Tell(new Identify(1));
        await ExpectMsgAsync<ActorIdentity>();
        Scheduler.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        var stats = await ExpectMsgAsync<Stats>();
        Assert.Equal(["a"], stats.Lists.Select(l => l.List));
        Assert.Equal(["b", "c"], stats.Unanswered);
        Assert.Empty(stats.SilentNodes);
        await ExpectTerminatedAsync(collector);
    }

    private IActorRef Start(IReadOnlyList<(IActorRef To, string List)> lists, IReadOnlyList<string>? silentNodes = null)
    {
        var collector = Sys.ActorOf(StatsCollector.Props(lists, more: silentNodes is not null, TestActor, "akka.tcp://aggregator@127.0.0.1:25520",
            Timeout, silentNodes));
        Watch(collector);
        return collector;
    }

    private async Task ExpectTerminatedAsync(IActorRef actor) =>
        Assert.Equal(actor, (await ExpectMsgAsync<Terminated>()).ActorRef);
}
