using System.Runtime.Serialization;
using Akka.Actor;
using System.Collections.Immutable;
using Akka.Serialization;
using Akka.Actor.Setup;
using Google.Protobuf;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Protocol;

/// <summary>
/// The one serializer for everything that crosses a process boundary. Each message type
/// of messages.proto has a short manifest; the manifest, never a type name from the wire,
/// picks the parser. An unknown manifest or a malformed payload is a
/// <see cref="SerializationException"/>: Akka drops that message and keeps the connection.
/// </summary>
public sealed class ProtocolSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id on the wire. Akka reserves 0-100 for itself.</summary>
    public const int Id = 7301;

    private static readonly (Type Type, string Manifest, MessageParser Parser)[] Table =
    [
        (typeof(AppendBatch), "ab", AppendBatch.Parser),
        (typeof(BatchAppended), "ba", BatchAppended.Parser),
        (typeof(AppendRefused), "ar", AppendRefused.Parser),
        (typeof(GetResumePosition), "grp", GetResumePosition.Parser),
        (typeof(ResumePosition), "rp", ResumePosition.Parser),
        (typeof(GetRange), "gr", GetRange.Parser),
        (typeof(ItemRange), "r", ItemRange.Parser),
        (typeof(GetLength), "gl", GetLength.Parser),
        (typeof(Length), "l", Length.Parser),
        (typeof(DeleteList), "dl", DeleteList.Parser),
        (typeof(ListDeleted), "ld", ListDeleted.Parser),
        (typeof(RequestRefused), "rr", RequestRefused.Parser),
        (typeof(GetStats), "gs", GetStats.Parser),
        (typeof(Stats), "s", Stats.Parser),
        (typeof(ListStats), "lst", ListStats.Parser),
        (typeof(GetListStats), "gls", GetListStats.Parser),
        (typeof(ItemsAppended), "ia", ItemsAppended.Parser),
        (typeof(ListStarted), "lsd", ListStarted.Parser),
    ];

    private static readonly Dictionary<Type, string> ManifestByType = Table.ToDictionary(e => e.Type, e => e.Manifest);
    private static readonly Dictionary<string, MessageParser> ParserByManifest = Table.ToDictionary(e => e.Manifest, e => e.Parser);

    public ProtocolSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    public override int Identifier => Id;

    /// <summary>Every wire message type, for specs that must cover them all.</summary>
    public static IReadOnlyList<Type> MessageTypes { get; } = Table.Select(e => e.Type).ToArray();

    /// <summary>The types this serializer writes: every message of messages.proto.</summary>
    public static IReadOnlyList<Type> BoundTypes => MessageTypes;

    /// <summary>
    /// This serializer bound to every message type of the table, for an actor system's setup (what Akka.Hosting's
    /// <c>WithCustomSerializer</c> builds too, from <see cref="BoundTypes"/>): the bindings
    /// are the table above and cannot drift from it.
    /// </summary>
    public static SerializationSetup Setup { get; } = SerializationSetup.Create(system =>
        ImmutableHashSet.Create(SerializerDetails.Create(Alias, new ProtocolSerializer(system), BoundTypes.ToImmutableHashSet())));

    /// <summary>The name this serializer is bound under.</summary>
    public const string Alias = "actors-protocol";

    public override string Manifest(object o) =>
        ManifestByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType()} is not a wire message of messages.proto", nameof(o));

    public override byte[] ToBinary(object obj) => obj switch
    {
        IMessage message when ManifestByType.ContainsKey(obj.GetType()) => message.ToByteArray(),
        _ => throw new ArgumentException($"{obj.GetType()} is not a wire message of messages.proto", nameof(obj)),
    };

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (manifest is null || !ParserByManifest.TryGetValue(manifest, out var parser))
        {
            throw new SerializationException($"Unknown manifest '{Truncate(manifest ?? "(none)")}' for serializer {Id}");
        }

        try
        {
            return parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new SerializationException($"Malformed '{manifest}' payload of {bytes.Length} bytes: {e.Message}", e);
        }
        catch (Exception e) when (e is not SerializationException)
        {
            // Defensive: whatever a hostile payload makes the parser throw, callers see one type.
            throw new SerializationException($"Malformed '{manifest}' payload of {bytes.Length} bytes: {e.Message}", e);
        }
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
