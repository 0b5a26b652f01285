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

    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/>, writes <paramref name="chunks"/> and
    /// closes. With <paramref name="handshakeFirst"/>, the first chunk is an association
    /// handshake: the rest is written once the aggregator has answered it (as a real peer
    /// would wait), within a bounded time. The other side may hang up first: that is one of
    /// the answers a hostile peer gets.
    /// </summary>
    public static async Task SendAndCloseAsync(int port, IReadOnlyList<byte[]> chunks, bool handshakeFirst = false)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        try
        {
            for (var i = 0; i < chunks.Count; i++)
            {
                await stream.WriteAsync(chunks[i]);
                if (i == 0 && handshakeFirst && !await AnsweredAsync(stream, TimeSpan.FromSeconds(1)))
                {
                    return;
                }
            }

            await stream.FlushAsync();
            if (handshakeFirst)
            {
                // An association's messages are dropped if it closes before the aggregator has
                // set up its reader: stay connected a moment, as a real peer would.
                await AnsweredAsync(stream, TimeSpan.FromMilliseconds(100));
            }

            tcp.Client.Shutdown(SocketShutdown.Send);
        }
        catch (IOException)
        {
            // The aggregator closed the connection on us.
        }
    }

    /// <summary>True when the other side sent something within <paramref name="wait"/>.</summary>
    private static async Task<bool> AnsweredAsync(NetworkStream stream, TimeSpan wait)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            return await stream.ReadAsync(buffer, timeout.Token) > 0;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
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
