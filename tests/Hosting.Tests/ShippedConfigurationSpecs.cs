using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Google.Protobuf;
using Protocol;
using Protocol.Messages;

namespace Hosting.Tests;

/// <summary>What the shipped configuration files make of an actor system.</summary>
public sealed class ShippedConfigurationSpecs
{
    [Theory]
    [InlineData("aggregator.hocon")]
    [InlineData("worker.hocon")]
    public void Processes_should_refuse_payloads_for_the_serializers_that_read_type_names_from_the_wire(string shipped)
    {
        var config = ConfigurationFactory.ParseString("""
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.actor.guardian-supervisor-strategy = "Akka.Actor.DefaultSupervisorStrategy"
            akka.loglevel = WARNING
            """).WithFallback(HoconFile.Shipped(shipped).Config);
        using var process = ActorSystem.Create("process-serialization", TransportSecurity.SystemSetup(config, null));
        var json = System.Text.Encoding.UTF8.GetBytes("""{"$type":"Protocol.Messages.DeleteList, Protocol","List":"orders"}""");
        var protobuf = new DeleteList { List = "orders" }.ToByteArray();

        var fromJson = Record.Exception(() => process.Serialization.Deserialize(json, 1, "Protocol.Messages.DeleteList, Protocol"));
        var fromProtobuf = Record.Exception(() => process.Serialization.Deserialize(protobuf, 2, "Protocol.Messages.DeleteList, Protocol"));
        var ours = process.Serialization.Deserialize(protobuf, ProtocolSerializer.Id, "dl");

        Assert.IsType<SerializationException>(fromJson);
        Assert.IsType<SerializationException>(fromProtobuf);
        Assert.Contains("type names are never taken from the wire", fromJson.Message);
        Assert.Equal(new DeleteList { List = "orders" }, ours);
        Assert.Throws<SerializationException>(() => process.Serialization.FindSerializerFor(new NotOnTheWire("x")).ToBinary(new NotOnTheWire("x")));
    }

    private sealed record NotOnTheWire(string Text);
}
