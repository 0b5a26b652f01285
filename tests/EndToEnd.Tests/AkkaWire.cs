using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;

namespace EndToEnd.Tests;

/// <summary>
/// Akka.Remote's TCP wire, written by hand so that tests can speak it wrongly on purpose:
/// frames of a 4-byte little-endian length and a protobuf PDU (AkkaProtocolMessage), the
/// association handshake, and message envelopes (AckAndEnvelopeContainer).
/// </summary>
internal static class AkkaWire
{
    /// <summary>How long the aggregator may take to answer a handshake or to hang up after a DISASSOCIATE.</summary>
    public static readonly TimeSpan HandshakeWait = TimeSpan.FromSeconds(10);

    // Akka.Remote's CommandType (AkkaControlMessage field 1).
    private const int AssociateCommand = 1;
    private const int DisassociateCommand = 2;

    /// <summary>One frame: the length of <paramref name="pdu"/>, then the PDU.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> pdu)
    {
        var frame = new byte[4 + pdu.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, pdu.Length);
        pdu.CopyTo(frame.AsSpan(4));
        return frame;
    }

    /// <summary>The frame that opens an association, from system@host:port with the given uid.</summary>
    public static byte[] Associate(string system, string host, int port, ulong uid)
    {
        var origin = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.LengthDelimited);
            w.WriteString(system);
            w.WriteTag(2, WireFormat.WireType.LengthDelimited);
            w.WriteString(host);
            w.WriteTag(3, WireFormat.WireType.Varint);
            w.WriteUInt32((uint)port);
            w.WriteTag(4, WireFormat.WireType.LengthDelimited);
            w.WriteString("tcp");
        });
        var handshake = Message(w =>
        {
            Field(w, 1, origin);
            w.WriteTag(2, WireFormat.WireType.Fixed64);
            w.WriteFixed64(uid);
        });
        var control = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.Varint);
            w.WriteEnum(1); // ASSOCIATE
            Field(w, 2, handshake);
        });
        return Frame(Message(w => Field(w, 2, control)));
    }

    /// <summary>A frame carrying <paramref name="payload"/> as the payload of the association.</summary>
    public static byte[] Payload(ReadOnlySpan<byte> payload)
    {
        var copy = payload.ToArray();
        return Frame(Message(w => Field(w, 1, copy)));
    }

    /// <summary>
    /// A frame carrying one ordinary message for <paramref name="recipientPath"/>, as serialized
    /// by serializer <paramref name="serializerId"/> (no sequence number: only system messages have one).
    /// </summary>
    public static byte[] Envelope(string recipientPath, int serializerId, string manifest, ReadOnlySpan<byte> message)
    {
        var body = message.ToArray();
        var recipient = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.LengthDelimited);
            w.WriteString(recipientPath);
        });
        var serialized = Message(w =>
        {
            Field(w, 1, body);
            w.WriteTag(2, WireFormat.WireType.Varint);
            w.WriteInt32(serializerId);
            Field(w, 3, System.Text.Encoding.UTF8.GetBytes(manifest));
        });
        var envelope = Message(w =>
        {
            Field(w, 1, recipient);
            Field(w, 2, serialized);
        });
        return Payload(Message(w => Field(w, 2, envelope)));
    }

    /// <summary>The frame that ends an association (DISASSOCIATE, reason unknown).</summary>
    public static byte[] Disassociate()
    {
        var control = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.Varint);
            w.WriteEnum(DisassociateCommand);
        });
        return Frame(Message(w => Field(w, 2, control)));
    }

    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/>, writes <paramref name="chunks"/> and
    /// closes, and says how far it got. With <paramref name="handshakeFirst"/>, the first chunk
    /// is an association handshake: the rest is written once the aggregator has answered it
    /// with its own ASSOCIATE (as a real peer would wait), within <see cref="HandshakeWait"/>;
    /// then a DISASSOCIATE, and the connection is held until the aggregator hangs up, so that it
    /// has read every frame before the connection goes. The other side may hang up earlier:
    /// that is one of the answers a hostile peer gets.
    /// </summary>
    public static async Task<Delivery> SendAndCloseAsync(int port, IReadOnlyList<byte[]> chunks, bool handshakeFirst = false)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        var written = 0;
        var answered = false;
        try
        {
            for (var i = 0; i < chunks.Count; i++)
            {
                await stream.WriteAsync(chunks[i]);
                written++;
                if (i == 0 && handshakeFirst && !(answered = await AssociateAnsweredAsync(stream, HandshakeWait)))
                {
                    return new Delivery(written, answered, HungUp: false, Drained: false);
                }
            }

            await stream.FlushAsync();
            var drained = false;
            if (handshakeFirst)
            {
                await stream.WriteAsync(Disassociate());
                drained = await HungUpAsync(stream, HandshakeWait);
            }

            tcp.Client.Shutdown(SocketShutdown.Send);
            return new Delivery(written, answered, HungUp: false, drained);
        }
        catch (IOException)
        {
            // The aggregator closed the connection on us.
            return new Delivery(written, answered, HungUp: true, Drained: false);
        }
    }

    /// <summary>True when the next frame from the other side, within <paramref name="wait"/>, is an ASSOCIATE.</summary>
    private static async Task<bool> AssociateAnsweredAsync(NetworkStream stream, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            var length = new byte[4];
            await stream.ReadExactlyAsync(length, timeout.Token);
            var pdu = new byte[BinaryPrimitives.ReadInt32LittleEndian(length)];
            await stream.ReadExactlyAsync(pdu, timeout.Token);
            return ControlCommand(pdu) == AssociateCommand;
        }
        catch (Exception e) when (e is OperationCanceledException or EndOfStreamException or OverflowException or InvalidProtocolBufferException)
        {
            return false;
        }
    }

    /// <summary>True when the other side closes the connection within <paramref name="wait"/> (whatever it sends before).</summary>
    private static async Task<bool> HungUpAsync(NetworkStream stream, TimeSpan wait)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            while (await stream.ReadAsync(buffer, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The command of an AkkaProtocolMessage's control instruction (field 2, its field 1), or -1.</summary>
    private static int ControlCommand(byte[] pdu)
    {
        var message = new CodedInputStream(pdu);
        for (var tag = message.ReadTag(); tag != 0; tag = message.ReadTag())
        {
            if (WireFormat.GetTagFieldNumber(tag) != 2 || WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
            {
                message.SkipLastField();
                continue;
            }

            var control = new CodedInputStream(message.ReadBytes().ToByteArray());
            for (var inner = control.ReadTag(); inner != 0; inner = control.ReadTag())
            {
                if (WireFormat.GetTagFieldNumber(inner) == 1 && WireFormat.GetTagWireType(inner) == WireFormat.WireType.Varint)
                {
                    return control.ReadEnum();
                }

                control.SkipLastField();
            }
        }

        return -1;
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }

    private static void Field(CodedOutputStream output, int field, byte[] bytes)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(bytes));
    }
}

/// <summary>How far one hostile connection got.</summary>
/// <param name="Written">chunks the connection took in full (the handshake included) before a write failed.</param>
/// <param name="Answered">the aggregator answered the handshake with its own ASSOCIATE.</param>
/// <param name="HungUp">the aggregator closed the connection before every chunk was written.</param>
/// <param name="Drained">after every chunk and a DISASSOCIATE, the aggregator closed the connection: it read them all.</param>
internal readonly record struct Delivery(int Written, bool Answered, bool HungUp, bool Drained);
