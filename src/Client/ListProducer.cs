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
public sealed class ListProducer : IAsyncDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly AggregatorClient _client;
    private readonly AggregatorClientOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TimeSpan _askTimeout;
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

    internal ListProducer(AggregatorClient client, string list, string producerId)
    {
        _client = client;
        _options = client.Options;
        List = list;
        ProducerId = producerId;
        _askTimeout = _options.ConnectTimeout + _options.UnavailableTimeout + _options.AckTimeout + _options.AckTimeout + TimeSpan.FromMinutes(1);
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
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await StartedAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Adds one item (its UTF-8 form at most <see cref="AggregatorClientOptions.MaxItemBytes"/>); waits while the window is full.</summary>
    /// <exception cref="ArgumentException">the item is too large, or not valid Unicode.</exception>
    /// <exception cref="AggregatorException">the producer failed (it stays failed).</exception>
    public ValueTask AddAsync(string item, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        byte[] utf8;
        try
        {
            utf8 = StrictUtf8.GetBytes(item);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"item {_offset} is not valid Unicode: {e.Message}", nameof(item), e);
        }

        return AddAsync(utf8, cancellationToken);
    }

    /// <summary>Adds one item given as UTF-8 (checked); waits while the window is full.</summary>
    /// <exception cref="ArgumentException">the item is too large, or not UTF-8.</exception>
    /// <exception cref="AggregatorException">the producer failed (it stays failed).</exception>
    public async ValueTask AddAsync(ReadOnlyMemory<byte> utf8Item, CancellationToken cancellationToken = default)
    {
        if (utf8Item.Length > _options.MaxItemBytes)
        {
            throw new ArgumentException($"item {_offset} is {utf8Item.Length} bytes; the limit is {_options.MaxItemBytes} bytes", nameof(utf8Item));
        }

        if (!System.Text.Unicode.Utf8.IsValid(utf8Item.Span))
        {
            throw new ArgumentException($"item {_offset} is not valid UTF-8", nameof(utf8Item));
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var resumeAt = await StartedAsync(cancellationToken);
            if (_offset < resumeAt)
            {
                _offset++; // the list holds it already
                return;
            }

            var size = PackedItems.VarintSize((uint)utf8Item.Length) + utf8Item.Length;
            if (_count > 0 && _length + size > _batch.Length)
            {
                await SendAsync(cancellationToken);
            }

            if (_count == 0)
            {
                _batch = new byte[_options.BatchMaxBytes];
                _batchFirst = _offset;
                _length = 0;
                _linger.Change(_options.Linger, Timeout.InfiniteTimeSpan);
            }

            _length += PackedItems.WriteVarint(_batch.AsSpan(_length), (uint)utf8Item.Length);
            utf8Item.Span.CopyTo(_batch.AsSpan(_length));
            _length += utf8Item.Length;
            _count++;
            _offset++;
            if (_count >= _options.BatchMaxItems)
            {
                await SendAsync(cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Returns once every item added is acknowledged (durable in the aggregator's journal).</summary>
    /// <exception cref="AggregatorException">the producer failed (what was acknowledged before stays).</exception>
    public async Task<ProducerResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        using var activity = ClientDiagnostics.Start("flush", List);
        var started = Stopwatch.GetTimestamp();
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await StartedAsync(cancellationToken);
            await SendAsync(cancellationToken);
            var finished = Expect<ProducerActor.Finished>(await AskAsync(new ProducerActor.Finish(), cancellationToken));
            ClientDiagnostics.Took("flush", started);
            return new ProducerResult(finished.NextOffset, finished.Applied + finished.ConfirmedByPosition, finished.Duplicates, AlreadyStored,
                finished.LongestWait);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Where the producer is: acknowledged items, whether it is connected, and why the aggregator cannot store items, while it cannot.</summary>
    public async Task<ProducerProgress> ProgressAsync(CancellationToken cancellationToken = default)
    {
        if (_actor is null)
        {
            return new ProducerProgress(0, 0, 0, false, null);
        }

        var progress = await _actor.Ask<ProducerActor.Progress>(ProducerActor.GetProgress.Instance, TimeSpan.FromSeconds(5), cancellationToken);
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

        _disposed = true;
        await _linger.DisposeAsync();
        if (_actor is not null)
        {
            _client.System.Stop(_actor);
        }
    }

    private async Task<ulong> StartedAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failed is not null)
        {
            throw _failed;
        }

        if (_resumeAt is { } resumeAt)
        {
            return resumeAt;
        }

        _actor ??= _client.System.ActorOf(ProducerActor.Props(List, ProducerId, _options, _client.Locator), _client.NextProducerName());
        var started = Expect<ProducerActor.Started>(await AskAsync(new ProducerActor.Start(), cancellationToken));
        _resumeAt = started.ResumeOffset;
        return started.ResumeOffset;
    }

    /// <summary>Hands the open batch to the producer actor, waiting while its window is full.</summary>
    private async Task SendAsync(CancellationToken cancellationToken)
    {
        if (_count == 0)
        {
            return;
        }

        var batch = new AppendBatch
        {
            List = List,
            Producer = ProducerId,
            FirstOffset = _batchFirst,
            Count = (uint)_count,
            Items = UnsafeByteOperations.UnsafeWrap(_batch.AsMemory(0, _length)),
        };
        _count = 0;
        _length = 0;
        _batchGeneration++;
        _linger.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Expect<ProducerActor.OfferAccepted>(await AskAsync(new ProducerActor.Offer(batch), cancellationToken));
    }

    /// <summary>The linger time of the open batch is up: it goes as it is, unless it went meanwhile.</summary>
    private async Task LingerAsync()
    {
        var generation = Interlocked.Read(ref _batchGeneration);
        try
        {
            await _gate.WaitAsync();
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        try
        {
            if (!_disposed && _failed is null && generation == _batchGeneration)
            {
                await SendAsync(CancellationToken.None);
            }
        }
        catch (AggregatorException)
        {
            // Kept in _failed: the next call throws it.
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<object> AskAsync(object request, CancellationToken cancellationToken)
    {
        try
        {
            return await _actor!.Ask<object>(request, _askTimeout, cancellationToken);
        }
        catch (AskTimeoutException e)
        {
            throw Failed(new AggregatorException($"the producer of list '{List}' answered nothing within {_askTimeout.TotalSeconds:0} s", e));
        }
    }

    private T Expect<T>(object reply) => reply switch
    {
        T expected => expected,
        ProducerActor.AppendFailed failed => throw Failed(failed.Reason),
        _ => throw Failed(new AggregatorException($"unexpected reply {reply.GetType().Name} from the producer of list '{List}'")),
    };

    private AggregatorException Failed(AggregatorException reason) => _failed ??= reason;
}

/// <summary>What a producer's run stored: every count is of items of its input.</summary>
/// <param name="Acknowledged">items of the input now in the list: the offset a producer of the same id resumes at.</param>
/// <param name="Appended">items this run added to the list.</param>
/// <param name="Duplicates">items sent that the list held already (a resend whose acknowledgement was lost).</param>
/// <param name="AlreadyStored">items skipped at the start because the list held them (a resumed producer).</param>
/// <param name="LongestAckWait">the longest time batches waited with no acknowledgement moving on (a failover shows here).</param>
public sealed record ProducerResult(ulong Acknowledged, ulong Appended, ulong Duplicates, ulong AlreadyStored, TimeSpan LongestAckWait);

/// <summary>A producer's progress.</summary>
/// <param name="Acknowledged">items of its input acknowledged.</param>
/// <param name="Appended">of those, new in the list.</param>
/// <param name="Duplicates">of those, the list held already.</param>
/// <param name="Connected">whether it has an aggregator now.</param>
/// <param name="Unavailable">why the aggregator cannot store items, while it cannot; else null.</param>
public sealed record ProducerProgress(ulong Acknowledged, ulong Appended, ulong Duplicates, bool Connected, string? Unavailable);
