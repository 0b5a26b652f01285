using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace Actors.Client;

/// <summary>
/// How a client reaches its aggregator and paces its work. Bind it from configuration (an
/// <c>Aggregator</c> section: <c>Contacts</c>, <c>ConnectTimeout</c>, …) or set it in code;
/// every default is the worker's.
/// </summary>
public sealed class AggregatorClientOptions
{
    /// <summary>The environment variable read when <see cref="Contacts"/> is empty: HOST:PORT[,HOST:PORT...].</summary>
    public const string ContactsVariable = "ACTORS_AGGREGATOR";

    /// <summary>Where aggregators listen when nothing else says: the default port on this machine.</summary>
    public const string DefaultContact = "127.0.0.1:25520";

    /// <summary>
    /// What a batch needs of the transport's frame beside its packed items (names, offsets, the
    /// serializer's manifest, remoting's envelope): a batch of <see cref="BatchMaxBytes"/> must
    /// fit the frame with this much to spare.
    /// </summary>
    public const int BatchEnvelopeBytes = 2048;

    /// <summary>
    /// The aggregator's HOST:PORT, or a cluster's nodes separated by commas (the first that
    /// answers is used; the next ones when it is lost). Empty: <c>$ACTORS_AGGREGATOR</c>, else
    /// <see cref="DefaultContact"/>.
    /// </summary>
    public string Contacts { get; set; } = string.Empty;

    /// <summary>How long to look for an aggregator that does not answer (per outage) before failing.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one request (a read, a count, a delete, a follow poll) may take before it is sent again, elsewhere if there is an elsewhere.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>A batch not acknowledged within this time is sent again (the aggregator drops duplicates).</summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long to go on while the aggregator cannot store (UNAVAILABLE) or answers nothing, before failing.</summary>
    public TimeSpan UnavailableTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The first wait before trying again (it doubles up to <see cref="RetryMaxBackoff"/>).</summary>
    public TimeSpan RetryMinBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between tries.</summary>
    public TimeSpan RetryMaxBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Unacknowledged batches a producer keeps in flight at most: its memory is bounded by this times <see cref="BatchMaxBytes"/>.</summary>
    public int MaxInFlight { get; set; } = 16;

    /// <summary>Items per batch at most.</summary>
    public int BatchMaxItems { get; set; } = 16_384;

    /// <summary>Packed bytes per batch at most (it must fit the transport's frame and the aggregator's max-batch-bytes).</summary>
    public int BatchMaxBytes { get; set; } = 80_000;

    /// <summary>The largest item a producer accepts, in UTF-8 bytes.</summary>
    public int MaxItemBytes { get; set; } = 65_536;

    /// <summary>How long a producer holds a batch that is not full before sending it anyway.</summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>How long the aggregator holds a follower's request at the end of a list (its follow-wait): a follow poll may take this much longer.</summary>
    public TimeSpan FollowWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Mutual TLS (null: plain TCP, loopback or a private network only).</summary>
    public AggregatorTls? Tls { get; set; }

    /// <summary>
    /// An actor system of the application's own to run in (it needs remoting, and
    /// <c>Protocol.ProtocolSerializer</c> bound to the wire's messages: see docs/client.md).
    /// Null: the client makes one of its own beside any other, and disposes it.
    /// </summary>
    public ActorSystem? ActorSystem { get; set; }

    /// <summary>The name of the client's own actor system (part of its address).</summary>
    public string SystemName { get; set; } = "worker";

    /// <summary>
    /// HOCON for the client's own actor system, in front of its defaults (for example
    /// <c>akka.remote.dot-netty.tcp.hostname</c> on a machine the aggregator must connect back to).
    /// </summary>
    public string? AkkaConfig { get; set; }

    /// <summary>Where the client's own actor system logs (warnings: a lost aggregator, a resumption); null: nowhere.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock of time-outs and waits (a fake one in tests).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The whole configuration of the client's own actor system (the Worker's checked file), in front of the defaults.</summary>
    internal Akka.Configuration.Config? SystemConfig { get; set; }

    /// <summary>The contacts, parsed: <see cref="Contacts"/>, else <c>$ACTORS_AGGREGATOR</c>, else the default.</summary>
    /// <exception cref="ArgumentException">they are not HOST:PORT[,HOST:PORT...].</exception>
    public IReadOnlyList<Endpoint> Endpoints()
    {
        var (text, source) = Contacts.Trim().Length > 0 ? (Contacts.Trim(), "Contacts")
            : Environment.GetEnvironmentVariable(ContactsVariable) is { } variable && variable.Trim().Length > 0 ? (variable.Trim(), $"${ContactsVariable}")
            : (DefaultContact, "the default");
        string? problem = null;
        var endpoints = Endpoint.ParseList(text, source, p => problem ??= p);
        return problem is null ? endpoints : throw new ArgumentException(problem, nameof(Contacts));
    }

    /// <summary>Checks the numbers: each positive, a batch able to hold the largest item.</summary>
    /// <exception cref="ArgumentException">a value cannot be used.</exception>
    public void Validate()
    {
        Positive(ConnectTimeout, nameof(ConnectTimeout));
        Positive(RequestTimeout, nameof(RequestTimeout));
        Positive(AckTimeout, nameof(AckTimeout));
        Positive(UnavailableTimeout, nameof(UnavailableTimeout));
        Positive(FollowWait, nameof(FollowWait));
        Positive(RetryMinBackoff, nameof(RetryMinBackoff));
        if (RetryMaxBackoff < RetryMinBackoff)
        {
            throw new ArgumentException($"{nameof(RetryMaxBackoff)} ({RetryMaxBackoff}) is below {nameof(RetryMinBackoff)} ({RetryMinBackoff})");
        }

        if (MaxInFlight < 1 || BatchMaxItems < 1 || MaxItemBytes < 1)
        {
            throw new ArgumentException($"{nameof(MaxInFlight)}, {nameof(BatchMaxItems)} and {nameof(MaxItemBytes)} must be at least 1");
        }

        if (MaxItemBytes + 5 > BatchMaxBytes)
        {
            throw new ArgumentException($"{nameof(MaxItemBytes)} ({MaxItemBytes}) does not fit in one batch ({nameof(BatchMaxBytes)} = {BatchMaxBytes})");
        }

        static void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentException($"{name} must be positive, not {value}");
            }
        }
    }

    /// <summary>
    /// A batch must fit the transport's frame of the actor system that sends it: the transport
    /// drops a larger message with only a log line, and the batch would never be acknowledged.
    /// </summary>
    /// <exception cref="ArgumentException">it does not.</exception>
    internal void CheckFrame(Akka.Configuration.Config config, string systemName)
    {
        var frame = config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size") ?? 128_000;
        if (BatchMaxBytes + (long)BatchEnvelopeBytes > frame)
        {
            throw new ArgumentException(
                $"{nameof(BatchMaxBytes)} ({BatchMaxBytes}) does not fit the akka.remote.dot-netty.tcp.maximum-frame-size of actor system '{systemName}' ({frame} bytes) with {BatchEnvelopeBytes} bytes to spare: lower it, or raise the frame on the client and on the aggregator",
                nameof(BatchMaxBytes));
        }
    }
}
