using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Protocol;
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

    /// <summary>Hands everything to the probe, keeping the sender.</summary>
    protected sealed class Forwarder : ReceiveActor
    {
        public Forwarder(IActorRef target) => ReceiveAny(message => target.Forward(message));
    }
}
