using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Client.Tests;

/// <summary>
/// A TestKit whose system stands in for the aggregator: a probe behind an actor at /user/lists,
/// so the client finds it by the same Identify it uses in production, over real remoting
/// with every message serialized.
/// </summary>
public abstract class ScriptedAggregatorKit : Akka.TestKit.Xunit2.TestKit
{
    private static readonly Config SpecConfig = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.actor.provider = remote
        akka.actor.serialize-messages = on
        akka.actor.serialization-settings.allow-unregistered-types = false
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        akka.remote.retry-gate-closed-for = 100ms
        akka.test.timefactor = 2
        """);

    protected ScriptedAggregatorKit(ITestOutputHelper output)
        : base(BootstrapSetup.Create().WithConfig(SpecConfig).And(ProtocolSerializer.Setup), ActorNames.AggregatorSystem, output)
    {
        Aggregator = CreateTestProbe();
        Address = ((ExtendedActorSystem)Sys).Provider.DefaultAddress;
        Sys.ActorOf(Props.Create(() => new Forwarder(Aggregator.Ref)), ActorNames.Lists);
    }

    /// <summary>What the client sends to the aggregator; reply to it as the aggregator would.</summary>
    protected TestProbe Aggregator { get; }

    /// <summary>The system's own address: the client's contact.</summary>
    protected Address Address { get; }

    /// <summary>This system's HOST:PORT.</summary>
    protected Endpoint Contact => new(Address.Host!, Address.Port!.Value);

    protected static AggregatorClientOptions DefaultOptions { get; } = Options(_ => { });

    /// <summary>The specs' producer options: a window of 2, quick back-off, <paramref name="change"/> applied.</summary>
    protected static AggregatorClientOptions Options(Action<AggregatorClientOptions> change)
    {
        var options = new AggregatorClientOptions
        {
            MaxInFlight = 2,
            AckTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            RetryMinBackoff = TimeSpan.FromMilliseconds(10),
            RetryMaxBackoff = TimeSpan.FromMilliseconds(100),
        };
        change(options);
        return options;
    }

    /// <summary>The request of the producer <see cref="StartAsync"/> started last.</summary>
    protected GetResumePosition? LastResumeRequest { get; private set; }

    /// <summary>A producer of list orders, id p1, started at <paramref name="resumeAt"/> as the scripted aggregator names it.</summary>
    protected async Task<IActorRef> StartAsync(ulong resumeAt, AggregatorClientOptions? settings = null)
    {
        settings ??= DefaultOptions;
        var locator = new AggregatorLocator(Sys, [Contact], settings);
        var producer = Sys.ActorOf(ProducerActor.Props("orders", "p1", settings, locator));
        producer.Tell(new ProducerActor.Start());
        var ask = LastResumeRequest = await Aggregator.ExpectMsgAsync<GetResumePosition>();
        Assert.Equal(("orders", "p1"), (ask.List, ask.Producer));
        Aggregator.Reply(new ResumePosition { List = "orders", Producer = "p1", NextOffset = resumeAt });
        Assert.Equal(resumeAt, (await ExpectMsgAsync<ProducerActor.Started>()).ResumeOffset);
        return producer;
    }

    /// <summary>Offers offsets first to first + count - 1 to <paramref name="producer"/>, which takes them and sends them: the batch sent.</summary>
    private protected async Task<AppendBatch> SentAsync(IActorRef producer, ulong first, int count)
    {
        producer.Tell(Offer(first, count));
        await ExpectMsgAsync<ProducerActor.OfferAccepted>();
        return await Aggregator.ExpectMsgAsync<AppendBatch>();
    }

    /// <summary>Offsets first to first + count - 1 of p1, offered to the producer.</summary>
    private protected static ProducerActor.Offer Offer(ulong first, int count) => new(new AppendBatch
    {
        List = "orders",
        Producer = "p1",
        FirstOffset = first,
        Count = (uint)count,
        Items = PackedItems.Encode(Enumerable.Range((int)first, count).Select(i => $"item-{i}")),
    });

    /// <summary>The aggregator's acknowledgement of p1's batch at <paramref name="first"/>.</summary>
    protected static BatchAppended Ack(ulong first, uint count, uint applied, uint duplicates = 0, ulong incarnation = 0) => new()
    {
        List = "orders",
        Producer = "p1",
        FirstOffset = first,
        NextOffset = first + count,
        Applied = applied,
        Duplicates = duplicates,
        Incarnation = incarnation,
    };

    /// <summary>Hands everything to the probe, keeping the sender.</summary>
    protected sealed class Forwarder : ReceiveActor
    {
        public Forwarder(IActorRef target) => ReceiveAny(message => target.Forward(message));
    }
}
