using System.Diagnostics;
using System.Text;
using Akka.Actor;
using Google.Protobuf;
using Protocol;
using Protocol.Messages;

namespace Actors.Client;

/// <summary>
/// One producer of a list: items added in order, each appended exactly once. Every item has an
/// offset in this producer's input (0, 1, 2, …); the list applies only the next one it expects
/// from this producer id. So a producer created again with the same id, fed the same input
/// from its start, skips what the list already holds (<see cref="AlreadyStored"/>) and adds
/// nothing twice, across restarts of the whole process.
/// </summary>
/// <remarks>
/// Items are packed into batches (<see cref="AggregatorClientOptions.BatchMaxItems"/>,
/// <see cref="AggregatorClientOptions.BatchMaxBytes"/>); a batch that is not full goes after
/// <see cref="AggregatorClientOptions.Linger"/>. At most <see cref="AggregatorClientOptions.MaxInFlight"/>
/// batches wait for their acknowledgement: <see cref="AddAsync(string, CancellationToken)"/>
/// waits while the window is full, so memory stays bounded. <see cref="FlushAsync"/> returns
/// once every item added is acknowledged, that is durable in the aggregator's journal. Calls
/// are not meant to overlap: add from one task at a time, as with a stream.
/// </remarks>
public sealed partial class ListProducer : IAsyncDisposable
{
    /// <summary>How long a call waits on the producer actor before asking whether it is alive (again).</summary>
    internal static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(30);

    /// <summary>How long the producer actor has to answer that probe.</summary>
    internal static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(30);

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly AggregatorClient _client;
    private readonly AggregatorClientOptions _options;
    private readonly BatchGate _gate = new();
    private readonly ITimer _linger;
    private IActorRef? _actor;
    private ulong? _resumeAt;
    private ulong _offset;
    private byte[] _batch = [];
    private int _length;
    private int _count;
    private ulong _batchFirst;
    private long _batchGeneration;
    private AggregatorException? _failed;
    private bool _disposed;

    /// <summary>The batch handed to the producer actor last, until the actor says its window has room (null: it has).</summary>
    private Task<object>? _offered;

    /// <summary>Completes when the producer actor stops, or its actor system (null until the actor starts).</summary>
    private Task? _stopped;

    internal ListProducer(AggregatorClient client, string list, string producerId)
    {
        _client = client;
        _options = client.Options;
        List = list;
        ProducerId = producerId;
        _linger = _options.TimeProvider.CreateTimer(_ => _ = LingerAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The list.</summary>
    public string List { get; }

    /// <summary>The producer id: what makes a later producer of the same id resume where this one stopped.</summary>
    public string ProducerId { get; }

    /// <summary>Items of this producer's input the list held when it started: the first that many items added are skipped.</summary>
    public ulong AlreadyStored => _resumeAt ?? 0;

    /// <summary>Items added so far (skipped ones included): the next item's offset.</summary>
    public ulong Added => _offset;

    /// <summary>
    /// Finds the aggregator and asks where this producer stands; <see cref="AddAsync(string, CancellationToken)"/>
    /// does it on its first call. Returns how many items of this producer's input the list holds.
    /// </summary>
    /// <exception cref="AggregatorException">the aggregator is unreachable, refused, or the list was deleted.</exception>
    public async Task<ulong> StartAsync(CancellationToken cancellationToken = default)
    {
        await _gate.EnterAsync(cancellationToken);
        try
        {
            return await StartedAsync(cancellationToken);
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>Adds one item (its UTF-8 form at most <see cref="AggregatorClientOptions.MaxItemBytes"/>); waits while the window is full.</summary>
    /// <exception cref="ArgumentException">the item is too large, or not valid Unicode.</exception>
    /// <exception cref="AggregatorException">the producer failed (it stays failed).</exception>
    public ValueTask AddAsync(string item, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        int length;
        try
        {
            length = StrictUtf8.GetByteCount(item);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"item {_offset} is not valid Unicode: {e.Message}", nameof(item), e);
        }

        CheckLength(length, nameof(item));
        return TryAddNow(new PendingItem(item, default, length)) ? default : AddSlowAsync(new PendingItem(item, default, length), cancellationToken);
    }

    /// <summary>Adds one item given as UTF-8 (checked); waits while the window is full.</summary>
    /// <exception cref="ArgumentException">the item is too large, or not UTF-8.</exception>
    /// <exception cref="AggregatorException">the producer failed (it stays failed).</exception>
    public ValueTask AddAsync(ReadOnlyMemory<byte> utf8Item, CancellationToken cancellationToken = default)
    {
        CheckLength(utf8Item.Length, nameof(utf8Item));
        if (!System.Text.Unicode.Utf8.IsValid(utf8Item.Span))
        {
            throw new ArgumentException($"item {_offset} is not valid UTF-8", nameof(utf8Item));
        }

        return TryAddNow(new PendingItem(null, utf8Item, utf8Item.Length)) ? default : AddSlowAsync(new PendingItem(null, utf8Item, utf8Item.Length), cancellationToken);
    }

    /// <summary>Returns once every item added is acknowledged (durable in the aggregator's journal).</summary>
    /// <exception cref="AggregatorException">the producer failed (what was acknowledged before stays).</exception>
    public async Task<ProducerResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        using var activity = ClientDiagnostics.Start("flush", List);
        var started = Stopwatch.GetTimestamp();
        await _gate.EnterAsync(cancellationToken);
        try
        {
            await StartedAsync(cancellationToken);

            // The open batch goes with the request to finish: one round trip to the actor, not two.
            await RoomAsync(cancellationToken);
            var finished = Expect<ProducerActor.Finished>(await AskAsync(new ProducerActor.Finish(TakeBatch()), cancellationToken));
            ClientDiagnostics.Took("flush", started);
            return new ProducerResult(finished.NextOffset, finished.Applied + finished.ConfirmedByPosition, finished.Duplicates, AlreadyStored,
                finished.LongestWait);
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>Where the producer is: acknowledged items, whether it is connected, and why the aggregator cannot store items, while it cannot.</summary>
    public async Task<ProducerProgress> ProgressAsync(CancellationToken cancellationToken = default)
    {
        if (_actor is null)
        {
            return new ProducerProgress(0, 0, 0, false, null);
        }

        ProducerActor.Progress progress;
        try
        {
            progress = await _actor.Ask<ProducerActor.Progress>(ProducerActor.GetProgress.Instance, TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (AskTimeoutException)
        {
            // The producer actor stopped (it failed, or the client was disposed) or is swamped.
            throw _failed ?? new AggregatorUnavailableException($"the producer {ProducerId} of list {List} did not say where it is within 5 s", 0);
        }

        return new ProducerProgress(progress.Acknowledged, progress.Applied, progress.Duplicates, progress.Connected, progress.Unavailable);
    }

    /// <summary>
    /// Stops the producer without waiting for anything: call <see cref="FlushAsync"/> first to
    /// know every item is stored. What is not acknowledged is not lost from the input's point of
    /// view: a producer of the same id resumes after what is stored.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        Volatile.Write(ref _disposed, true); // StartedAsync looks after it starts the actor
        Interlocked.MemoryBarrier();
        await _linger.DisposeAsync();
        _offered?.Abandon();
        if (_actor is not null)
        {
            _actor.Tell(PoisonPill.Instance); // not System.Stop: a message, as every other the actor gets
        }
    }
}
