using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Client.Tests;

/// <summary>
/// The producer takes answers only from the aggregator it found, about its own list and
/// producer id: another process that reaches its actor cannot make it count items the
/// aggregator never acknowledged.
/// </summary>
public sealed class ProducerStrangerSpecs(ITestOutputHelper output) : ScriptedAggregatorKit(output)
{
    private static readonly Config StrangerConfig = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        """);

    [Fact]
    public async Task ProducerActor_should_take_no_answer_from_another_address_or_about_another_producer()
    {
        var producer = await StartAsync(resumeAt: 0);
        producer.Tell(new ProducerActor.Finish(Offer(0, 2).Batch));
        await Aggregator.ExpectMsgAsync<AppendBatch>();
        var stranger = ActorSystem.Create("stranger", BootstrapSetup.Create().WithConfig(StrangerConfig).And(ProtocolSerializer.Setup));
        try
        {
            var reached = await stranger.ActorSelection(producer.Path.ToStringWithAddress(Address)).ResolveOne(RemainingOrDefault);
            var sender = new TestProbe(stranger, new XunitAssertions());

            // Another process acknowledges the batch; the aggregator, for another producer and another list.
            await EventFilter.Warning(start: "Ignored a BatchAppended from").ExpectAsync(3, () =>
            {
                reached.Tell(Ack(0, 2, applied: 2), sender.Ref);
                producer.Tell(Ack(0, 2, applied: 2).Also(a => a.Producer = "p2"), Aggregator.Ref);
                producer.Tell(Ack(0, 2, applied: 2).Also(a => a.List = "other"), Aggregator.Ref);
                return Task.CompletedTask;
            });

            producer.Tell(ProducerActor.GetProgress.Instance);
            Assert.Equal(0ul, (await ExpectMsgAsync<ProducerActor.Progress>()).Acknowledged);
            producer.Tell(Ack(0, 2, applied: 2), Aggregator.Ref);
            Assert.Equal(2ul, (await ExpectMsgAsync<ProducerActor.Finished>()).NextOffset);
        }
        finally
        {
            await stranger.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }
}

internal static class MessageChanges
{
    /// <summary><paramref name="message"/> after <paramref name="change"/>.</summary>
    public static T Also<T>(this T message, Action<T> change)
    {
        change(message);
        return message;
    }
}
