using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace Protocol;

/// <summary>
/// Stands in for one of Akka's general-purpose serializers in both processes. Those build
/// whatever .NET type a payload names: any peer that reaches the port could make the
/// aggregator construct types of its choosing, ours included (a DeleteList, say). Their
/// identifiers refuse every payload here: only the messages of messages.proto, through
/// <see cref="ProtocolSerializer"/>, and Akka.Remote's own system messages are read.
/// </summary>
public abstract class RefusingSerializer(ExtendedActorSystem system, string replaced) : Serializer(system)
{
    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        throw new SerializationException($"{obj.GetType().Name} has no wire format: only the messages of messages.proto cross between processes");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new SerializationException(
            $"refused a {bytes.Length}-byte payload for {replaced} (serializer {Identifier}): type names are never taken from the wire");
}

/// <summary>Identifier 1, Akka's JSON serializer (Newtonsoft with type names).</summary>
public sealed class RefusingJsonSerializer : RefusingSerializer
{
    public RefusingJsonSerializer(ExtendedActorSystem system) : base(system, "Akka's JSON serializer")
    {
    }

    /// <summary>Akka passes the JSON serializer's settings (akka.actor.serialization-settings.json); none apply.</summary>
    public RefusingJsonSerializer(ExtendedActorSystem system, Config settings) : this(system) => _ = settings;

    public override int Identifier => 1;
}

/// <summary>Identifier 2, Akka.Remote's serializer of any protobuf message, named by its .NET type.</summary>
public sealed class RefusingProtobufSerializer(ExtendedActorSystem system) : RefusingSerializer(system, "Akka's any-protobuf serializer")
{
    public override int Identifier => 2;
}

/// <summary>Identifier 3, Akka.Remote's remote-deployment messages (props by type name); nothing here deploys remotely.</summary>
public sealed class RefusingDeploymentSerializer(ExtendedActorSystem system) : RefusingSerializer(system, "remote deployment")
{
    public override int Identifier => 3;
}

/// <summary>
/// Akka.Remote's serializer of its small messages (Identify, ActorIdentity, heartbeats…),
/// except <c>Status.Failure</c>: an exception on the wire names its own .NET type, which
/// would be built from the payload. The processes never send one to each other.
/// </summary>
public sealed class GuardedMiscSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private const string StatusFailure = "STF";
    private readonly Akka.Remote.Serialization.MiscMessageSerializer _inner = new(system);

    public override int Identifier => _inner.Identifier;

    public override string Manifest(object o) => _inner.Manifest(o);

    public override byte[] ToBinary(object obj) => _inner.ToBinary(obj);

    public override object FromBinary(byte[] bytes, string manifest) =>
        manifest == StatusFailure
            ? throw new SerializationException($"refused a {bytes.Length}-byte Status.Failure: type names are never taken from the wire")
            : _inner.FromBinary(bytes, manifest);
}

/// <summary>
/// Akka.Remote's system messages (watch, unwatch, death notifications…), except
/// <c>Failed</c>, which carries an exception that names its own .NET type.
/// </summary>
public sealed class GuardedSystemMessageSerializer(ExtendedActorSystem system) : Serializer(system)
{
    private readonly Akka.Remote.Serialization.SystemMessageSerializer _inner = new(system);

    public override int Identifier => _inner.Identifier;

    public override bool IncludeManifest => _inner.IncludeManifest;

    public override byte[] ToBinary(object obj) => _inner.ToBinary(obj);

    public override object FromBinary(byte[] bytes, Type type) =>
        type == typeof(Akka.Dispatch.SysMsg.Failed)
            ? throw new SerializationException($"refused a {bytes.Length}-byte Failed system message: type names are never taken from the wire")
            : _inner.FromBinary(bytes, type);
}
