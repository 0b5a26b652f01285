using Protocol.Messages;

namespace Actors.Client;

/// <summary>Every failure the client reports is one of these: catch this type for all of them.</summary>
public class AggregatorException : Exception
{
    /// <summary>A failure with its message.</summary>
    public AggregatorException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>No aggregator answered at the contacts within the connect time-out.</summary>
public sealed class AggregatorUnreachableException : AggregatorException
{
    /// <summary>A failure to reach any of <paramref name="endpoints"/> within <paramref name="timeout"/>.</summary>
    public AggregatorUnreachableException(IReadOnlyList<Endpoint> endpoints, TimeSpan timeout, bool tls)
        : base((endpoints.Count > 1 ? $"none of the aggregators at {string.Join(",", endpoints)} answered" : $"the aggregator at {endpoints[0]} did not answer")
            + $" within {timeout.TotalSeconds:0.###} s"
            + (tls ? " (with TLS on, an aggregator without TLS, or one that refuses this client's certificate, looks the same)" : ""))
    {
        Endpoints = endpoints;
        Timeout = timeout;
        Tls = tls;
    }

    /// <summary>The contacts tried.</summary>
    public IReadOnlyList<Endpoint> Endpoints { get; }

    /// <summary>How long they were tried.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Whether TLS was on (a refused certificate looks like silence).</summary>
    public bool Tls { get; }

    /// <summary>For a producer: the items of its input acknowledged before the aggregator was lost for good.</summary>
    public ulong? Acknowledged { get; private init; }

    internal AggregatorUnreachableException WithAcknowledged(ulong acknowledged) => new(Endpoints, Timeout, Tls) { Acknowledged = acknowledged };
}

/// <summary>The aggregator refused a request for good: a bad name, an item or batch over its limits, a limit of lists or producers reached.</summary>
public class AggregatorRefusedException : AggregatorException
{
    /// <summary>A refusal for <paramref name="reason"/>, in the aggregator's words.</summary>
    public AggregatorRefusedException(Refusal reason, string message) : base(message) => Reason = reason;

    /// <summary>Why, as the wire names it.</summary>
    public Refusal Reason { get; }
}

/// <summary>The list was deleted while a producer appended to it: nothing sent before the delete remains in it.</summary>
public sealed class ListDeletedException : AggregatorRefusedException
{
    /// <summary>The deletion of <paramref name="list"/>, with the items of the producer acknowledged before it.</summary>
    public ListDeletedException(string list, ulong acknowledged)
        : base(Refusal.ListDeleted, $"list '{list}' was deleted while this producer appended to it ({acknowledged} items acknowledged before)")
    {
        List = list;
        Acknowledged = acknowledged;
    }

    /// <summary>The list.</summary>
    public string List { get; }

    /// <summary>Items of the producer's input acknowledged before the deletion (they were deleted with the list).</summary>
    public ulong Acknowledged { get; }
}

/// <summary>
/// The aggregator could not store or answer for longer than the unavailable time-out: its
/// journal failed (it answered UNAVAILABLE), or it was connected but answered nothing. What was
/// acknowledged is stored; a producer created again with the same id resumes after it.
/// </summary>
public sealed class AggregatorUnavailableException : AggregatorException
{
    /// <summary>A failure after <paramref name="acknowledged"/> acknowledged items.</summary>
    public AggregatorUnavailableException(string message, ulong acknowledged) : base(message) => Acknowledged = acknowledged;

    /// <summary>Items of the producer's input acknowledged so far (0 for other requests).</summary>
    public ulong Acknowledged { get; }
}

/// <summary>
/// The aggregator named a position behind what it had acknowledged: it lost acknowledged items
/// (an aggregator without a journal that restarted).
/// </summary>
public sealed class AggregatorLostItemsException(string message) : AggregatorException(message);

/// <summary>
/// The aggregator named an offset past everything this producer gave it: another producer of
/// the same id appends to the list at the same time. One id is one producer at a time; what
/// this one had acknowledged is stored.
/// </summary>
public sealed class ProducerConflictException : AggregatorException
{
    /// <summary>A conflict found after <paramref name="acknowledged"/> acknowledged items.</summary>
    public ProducerConflictException(string message, ulong acknowledged) : base(message) => Acknowledged = acknowledged;

    /// <summary>Items of the producer's input acknowledged before the conflict was found.</summary>
    public ulong Acknowledged { get; }
}

/// <summary>A TLS file that cannot be used: which one, and why.</summary>
public sealed class AggregatorTlsException(AggregatorTlsFile file, string message) : AggregatorException(message)
{
    /// <summary>The file at fault.</summary>
    public AggregatorTlsFile File { get; } = file;
}

/// <summary>The TLS files of a client or an aggregator.</summary>
public enum AggregatorTlsFile
{
    /// <summary>This process's certificate.</summary>
    Certificate,

    /// <summary>Its private key.</summary>
    Key,

    /// <summary>The certificate authority trusted.</summary>
    Authority,
}
