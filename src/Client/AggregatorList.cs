using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Actors.Client;

/// <summary>
/// One list of an aggregator: append to it, read it, count it, follow it, delete it. Readers
/// see only durable items, never one a crash could still take back. Cheap to make: nothing is
/// sent until a call.
/// </summary>
public sealed class AggregatorList
{
    private readonly AggregatorClient _client;

    internal AggregatorList(AggregatorClient client, string name)
    {
        _client = client;
        Name = name;
    }

    /// <summary>The list's name.</summary>
    public string Name { get; }

    /// <summary>
    /// A producer for a stream of items, exactly once across restarts of the caller's process:
    /// give it a stable <paramref name="producerId"/> and the same items in the same order, and a
    /// new producer of that id skips what the list holds already.
    /// </summary>
    /// <exception cref="ArgumentException">the id cannot be a producer's (1 to 128 letters, digits, <c>-</c>, <c>_</c>, <c>.</c>).</exception>
    public ListProducer CreateProducer(string producerId)
    {
        if (Protocol.Names.Check(producerId, "producer id") is { } problem)
        {
            throw new ArgumentException(problem, nameof(producerId));
        }

        return new ListProducer(_client, Name, producerId);
    }

    /// <summary>
    /// Appends <paramref name="items"/>, in order, and returns once all are acknowledged. A resend
    /// within the call (a lost acknowledgement, a failover) is never applied twice; but a call
    /// repeated after a crash appends again: use <see cref="CreateProducer"/> for input you may
    /// have to re-run. Calls of one client on one list go one after another, through one producer
    /// of the client's own (so the list remembers one position per client, not one per call).
    /// </summary>
    /// <returns>this call's figures.</returns>
    /// <exception cref="ArgumentException">an item is too large, or not valid Unicode.</exception>
    /// <exception cref="AggregatorException">the aggregator is unreachable, refused, or the list was deleted during the call.</exception>
    public async Task<ProducerResult> AppendAsync(IEnumerable<string> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        using var activity = ClientDiagnostics.Start("append", Name);
        var started = Stopwatch.GetTimestamp();
        var result = await _client.Appender(Name).AppendAsync(items, cancellationToken);
        ClientDiagnostics.Took("append", started);
        return result;
    }

    /// <summary>The list's durable length.</summary>
    public async Task<ulong> CountAsync(CancellationToken cancellationToken = default)
    {
        using var activity = ClientDiagnostics.Start("count", Name);
        var started = Stopwatch.GetTimestamp();
        var length = (Length)await _client.Requests.AskAsync(new GetLength { List = Name }, cancellation: cancellationToken);
        ClientDiagnostics.Took("count", started);
        return length.Count;
    }

    /// <summary>Up to <paramref name="count"/> items from <paramref name="from"/>, page by page (each page a request), as strings.</summary>
    public async IAsyncEnumerable<string> ReadAsync(ulong from = 0, ulong count = ulong.MaxValue,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var page in ReadPagesAsync(from, count, cancellationToken))
        {
            foreach (var item in page.Items)
            {
                yield return Encoding.UTF8.GetString(item.Span);
            }
        }
    }

    /// <summary>
    /// The same as <see cref="ReadAsync"/>, page by page, each item its UTF-8 bytes (for programs that
    /// pass items on without decoding them).
    /// </summary>
    public async IAsyncEnumerable<ListPage> ReadPagesAsync(ulong from = 0, ulong count = ulong.MaxValue,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (count > 0)
        {
            using var activity = ClientDiagnostics.Start("read", Name);
            var started = Stopwatch.GetTimestamp();
            var page = (ItemRange)await _client.Requests.AskAsync(
                new GetRange { List = Name, From = from, MaxCount = (uint)Math.Min(count, uint.MaxValue) }, cancellation: cancellationToken);
            ClientDiagnostics.Took("read", started);
            if (page.Count == 0)
            {
                yield break;
            }

            yield return new ListPage(page.From, page.Count, page.Length, page.Items.Memory, null);
            from += page.Count;
            count -= page.Count;
            if (from >= page.Length)
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// Every item from <paramref name="from"/> (null: the current end) as it is appended, until
    /// cancelled. If the list is deleted meanwhile, following goes on from its start: indices
    /// begin at 0 again (<see cref="FollowPagesAsync"/> says why).
    /// </summary>
    public async IAsyncEnumerable<ListItem> FollowAsync(ulong? from = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var page in FollowPagesAsync(from, cancellationToken))
        {
            var index = page.From;
            foreach (var item in page.Items)
            {
                yield return new ListItem(index++, Encoding.UTF8.GetString(item.Span));
            }
        }
    }

    /// <summary>
    /// <see cref="FollowAsync"/> page by page, each item its UTF-8 bytes; a page with a
    /// <see cref="ListPage.Restart"/> (and no items) says the list was deleted (seen deleted, or
    /// another incarnation of it found), or is shorter than the position (deleted and started
    /// again), and that following goes on from its start.
    /// One request at a time, each held by the aggregator until items come or its follow-wait ends.
    /// </summary>
    public async IAsyncEnumerable<ListPage> FollowPagesAsync(ulong? from = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ulong position;
        try
        {
            position = from ?? await CountAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            yield break; // cancelled before the first page: quietly too
        }

        var incarnation = 0ul; // the list's, once a page names one
        while (!cancellationToken.IsCancellationRequested)
        {
            object reply;
            try
            {
                reply = await _client.Requests.AskAsync(new GetRange { List = Name, From = position, Wait = true, WaitMs = FollowWaitMs },
                    _client.Options.FollowWait, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            if (reply is ListDeleted)
            {
                (position, incarnation) = (0, 0);
                yield return new ListPage(0, 0, 0, ReadOnlyMemory<byte>.Empty, ListRestart.Deleted);
                continue;
            }

            var page = (ItemRange)reply;
            if (page.Length < position)
            {
                (position, incarnation) = (0, 0);
                yield return new ListPage(0, 0, page.Length, ReadOnlyMemory<byte>.Empty, ListRestart.Shorter);
                continue;
            }

            if (page.Incarnation != 0 && incarnation != 0 && page.Incarnation != incarnation)
            {
                // Deleted and appended to again, past the position, between two polls: what this
                // page holds is the new list's, from the middle.
                (position, incarnation) = (0, page.Incarnation);
                yield return new ListPage(0, 0, page.Length, ReadOnlyMemory<byte>.Empty, ListRestart.Deleted);
                continue;
            }

            incarnation = page.Incarnation != 0 ? page.Incarnation : incarnation;

            if (page.Count > 0)
            {
                yield return new ListPage(page.From, page.Count, page.Length, page.Items.Memory, null);
                position += page.Count;
            }
        }
    }

    /// <summary>Deletes the list: once this returns, nothing it held can come back. True if it held anything.</summary>
    public async Task<bool> DeleteAsync(CancellationToken cancellationToken = default)
    {
        using var activity = ClientDiagnostics.Start("delete", Name);
        var started = Stopwatch.GetTimestamp();
        var deleted = (ListDeleted)await _client.Requests.AskAsync(new DeleteList { List = Name }, cancellation: cancellationToken);
        ClientDiagnostics.Took("delete", started);
        return deleted.Existed;
    }

    /// <summary>The list's figures: length, producers, followers, the node that holds it.</summary>
    public async Task<ListStatistics> StatsAsync(CancellationToken cancellationToken = default)
    {
        using var activity = ClientDiagnostics.Start("stats", Name);
        var started = Stopwatch.GetTimestamp();
        var stats = (ListStats)await _client.Requests.AskAsync(new GetListStats { List = Name }, cancellation: cancellationToken);
        ClientDiagnostics.Took("stats", started);
        return ListStatistics.Of(stats);
    }

    /// <summary>The wait each follow poll names: the aggregator holds it no longer, whatever its own follow-wait.</summary>
    private uint FollowWaitMs => (uint)Math.Clamp(_client.Options.FollowWait.TotalMilliseconds, 1, uint.MaxValue);
}

/// <summary>An item of a followed list and its index.</summary>
/// <param name="Index">its position in the list, from 0.</param>
/// <param name="Value">the item.</param>
public readonly record struct ListItem(ulong Index, string Value);

/// <summary>Why following goes on from a list's start.</summary>
public enum ListRestart
{
    /// <summary>The list was deleted (and may hold items again, appended since: they are read from its start).</summary>
    Deleted,

    /// <summary>The list is shorter than the position: it was deleted and appended to again.</summary>
    Shorter,
}

/// <summary>One page of a list: up to a transport frame's worth of items, each its UTF-8 bytes.</summary>
/// <param name="From">the index of its first item.</param>
/// <param name="Count">how many items it holds.</param>
/// <param name="Length">the list's durable length when the page was read.</param>
/// <param name="Packed">the items as the wire carries them.</param>
/// <param name="Restart">for a followed list: why following goes on from its start (the page then holds nothing).</param>
public sealed record ListPage(ulong From, uint Count, ulong Length, ReadOnlyMemory<byte> Packed, ListRestart? Restart)
{
    /// <summary>Each item's UTF-8 bytes, in order, without a copy.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Items
    {
        get
        {
            var offset = 0;
            while (offset < Packed.Length)
            {
                if (!Protocol.PackedItems.TryReadVarint(Packed.Span[offset..], out var length, out var consumed))
                {
                    yield break;
                }

                offset += consumed;
                yield return Packed.Slice(offset, (int)length);
                offset += (int)length;
            }
        }
    }
}
