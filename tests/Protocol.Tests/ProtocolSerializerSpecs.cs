using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Google.Protobuf;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Protocol.Tests;

public sealed class ProtocolSerializerSpecs : IDisposable
{
    private static readonly IMessage[] Samples =
    [
        new AppendBatch { List = "orders", Producer = "w-1", FirstOffset = 1L << 40, Count = 2, Items = PackedItems.Encode(["a", "ünïcødé"]), Session = ulong.MaxValue },
        new BatchAppended { List = "orders", Producer = "w-1", FirstOffset = 7, NextOffset = 9, Applied = 1, Duplicates = 1, Length = 12 },
        new AppendRefused { List = "orders", Producer = "w-1", FirstOffset = 9, ExpectedOffset = 4, Reason = Refusal.Gap, Message = "gap" },
        new GetResumePosition { List = "orders", Producer = "w-1", Session = 0x5e55_1011 },
        new ResumePosition { List = "orders", Producer = "w-1", NextOffset = 42, Length = 100 },
        new GetRange { List = "orders", From = 5, MaxCount = 10, Wait = true },
        new ItemRange { List = "orders", From = 5, Count = 1, Items = PackedItems.Encode(["x"]), Length = 6 },
        new GetLength { List = "orders" },
        new Length { List = "orders", Count = 3 },
        new DeleteList { List = "orders" },
        new ListDeleted { List = "orders", Existed = true },
        new RequestRefused { List = "orders", Reason = Refusal.InvalidName, Message = "bad" },
        new ItemsAppended { Producer = "w-1", FirstOffset = 3, Count = 1, Items = PackedItems.Encode(["y"]) },
        new ListStarted { Incarnation = 9, UnixMs = 1_764_000_000_000 },
        new GetStats { After = "orders" },
        new ListStats { List = "orders", Length = 3, Producers = 1, Followers = 2, Node = "akka.tcp://aggregator@127.0.0.1:25520", Version = "0.9.0" },
        new GetListStats { List = "orders" },
        new Stats
        {
            Lists = { new ListStats { List = "orders", Length = 3 } }, More = true, Node = "akka.tcp://aggregator@127.0.0.1:25520", Version = "0.9.0",
            Unanswered = { "payments" }, SilentNodes = { "akka.tcp://aggregator@127.0.0.1:25521" },
        },
    ];

    private readonly ActorSystem _system = ActorSystem.Create("serializer-specs", BootstrapSetup.Create().WithConfig(
        ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.actor.serialization-settings.allow-unregistered-types = false
            """)).And(ProtocolSerializer.Setup));

    public static TheoryData<string> MessageNames() => new(Samples.Select(s => s.GetType().Name));

    [Fact]
    public void ProtocolSerializer_should_have_a_sample_for_every_wire_message()
    {
        Assert.Equal(ProtocolSerializer.MessageTypes.OrderBy(t => t.Name), Samples.Select(s => s.GetType()).OrderBy(t => t.Name));
    }

    [Theory]
    [MemberData(nameof(MessageNames))]
    public void ProtocolSerializer_should_round_trip_every_message_through_akka_serialization(string name)
    {
        var sample = Samples.Single(s => s.GetType().Name == name);
        var serialization = _system.Serialization;
        var serializer = serialization.FindSerializerFor(sample);
        Assert.IsType<ProtocolSerializer>(serializer);

        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, sample);
        var bytes = serializer.ToBinary(sample);
        var back = serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.Equal(sample, back);
    }

    [Fact]
    public void ProtocolSerializer_should_refuse_an_unknown_manifest()
    {
        var serializer = new ProtocolSerializer((ExtendedActorSystem)_system);

        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary([1, 2, 3], "System.String, System.Private.CoreLib"));
        Assert.Contains("Unknown manifest", error.Message);

        // A hostile envelope can carry no manifest at all.
        Assert.Throws<SerializationException>(() => serializer.FromBinary([1, 2, 3], null!));
    }

    [Fact]
    public void ProtocolSerializer_should_reject_malformed_payloads_only_with_SerializationException()
    {
        var serializer = new ProtocolSerializer((ExtendedActorSystem)_system);
        var random = new Random(20261125);
        var manifests = Samples.Select(serializer.Manifest).ToArray();
        var rejected = 0;
        for (var i = 0; i < 5000; i++)
        {
            var manifest = manifests[i % manifests.Length];
            var payload = i % 2 == 0
                ? RandomBytes(random)
                : Truncate(serializer.ToBinary(Samples[i % Samples.Length]), random);
            try
            {
                serializer.FromBinary(payload, manifest);
            }
            catch (SerializationException)
            {
                rejected++;
            }
        }

        // Random bytes are mostly not valid protobuf: many must have been rejected, none otherwise.
        Assert.True(rejected > 1000, $"only {rejected} payloads rejected");
    }

    [Fact]
    public void ProtocolSerializer_should_reject_mutated_payloads_and_unknown_manifests_only_with_SerializationException()
    {
        var serializer = new ProtocolSerializer((ExtendedActorSystem)_system);
        var random = new Random(20261126);
        string[] foreign = ["", "x", "System.IO.FileInfo, System.IO.FileSystem", "Protocol.Messages.DeleteList, Protocol", new string('a', 10_000)];
        for (var i = 0; i < 5000; i++)
        {
            var valid = serializer.ToBinary(Samples[i % Samples.Length]);
            var mutated = valid.Length == 0 ? [0xFF] : valid.ToArray();
            for (var flips = random.Next(1, 4); flips > 0 && mutated.Length > 0; flips--)
            {
                mutated[random.Next(mutated.Length)] ^= (byte)(1 << random.Next(8));
            }

            var manifest = i % 5 == 0 ? foreign[random.Next(foreign.Length)] : serializer.Manifest(Samples[random.Next(Samples.Length)]);
            var error = Record.Exception(() => serializer.FromBinary(mutated, manifest));

            Assert.True(error is null or SerializationException, $"payload {i} ({manifest}) threw {error?.GetType().Name}: {error?.Message}");
        }
    }

    [Fact]
    public void ProtocolSerializer_should_leave_types_outside_the_schema_unserializable()
    {
        var error = Record.Exception(() =>
        {
            var serializer = _system.Serialization.FindSerializerFor(new NotOnTheWire("x"));
            serializer.ToBinary(new NotOnTheWire("x"));
        });

        Assert.NotNull(error);
    }

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(1, 64)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Truncate(byte[] bytes, Random random) => bytes[..random.Next(0, bytes.Length)];

    private sealed record NotOnTheWire(string Text);
}
