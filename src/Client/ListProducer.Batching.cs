using System.Diagnostics;
using System.Text;
using Akka.Actor;
using Google.Protobuf;
using Protocol;
using Protocol.Messages;

namespace Actors.Client;

/// <summary>The producer's batching: items packed into the open batch, batches handed to the producer actor, its replies.</summary>
public sealed partial class ListProducer
{
    /// <summary>An item's UTF-8 bytes, checked: valid Unicode, at most <paramref name="maxItemBytes"/>.</summary>
    /// <exception cref="ArgumentException">the item is too large, or not valid Unicode.</exception>
    internal static byte[] Encode(string item, ulong number, int maxItemBytes)
    {
        ArgumentNullException.ThrowIfNull(item);
        byte[] utf8;
        try
        {
            utf8 = StrictUtf8.GetBytes(item);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"item {number} is not valid Unicode: {e.Message}", nameof(item), e);
        }

        return utf8.Length <= maxItemBytes
            ? utf8
            : throw new ArgumentException($"item {number} is {utf8.Length} bytes; the limit is {maxItemBytes} bytes", nameof(item));
    }

    private void CheckLength(int length, string parameter)
    {
        if (length > _options.MaxItemBytes)
        {
            throw new ArgumentException($"item {_offset} is {length} bytes; the limit is {_options.MaxItemBytes} bytes", parameter);
        }
    }

    /// <summary>
    /// The hot path, without awaiting: the producer is started and the open batch has room for
    /// the item without filling up. False (nothing done) for everything else.
    /// </summary>
    private bool TryAddNow(PendingItem item)
    {
        if (_resumeAt is not { } resumeAt || _offset < resumeAt || _count == 0 || _count + 1 >= _options.BatchMaxItems
            || _length + PackedItems.VarintSize((uint)item.Length) + item.Length > _batch.Length || !_gate.TryEnterNow())
        {
            return false;
        }

        try
        {
            // The linger timer may have sent the batch between the check and the gate.
            if (_failed is not null || _disposed || _count == 0)
            {
                return false;
            }

            Write(item);
            return true;
        }
        finally
        {
            _gate.ExitNow();
        }
    }

    /// <summary>
    /// The slow path. A cancellation ends it with <see cref="OperationCanceledException"/> only
    /// before the item is written into the open batch (<see cref="Added"/> unchanged); once
    /// written, the item is added, and a cancellation ends only the wait for room that follows.
    /// </summary>
    private async ValueTask AddSlowAsync(PendingItem item, CancellationToken cancellationToken)
    {
        await _gate.EnterAsync(cancellationToken);
        try
        {
            var resumeAt = await StartedAsync(cancellationToken);
            if (_offset < resumeAt)
            {
                _offset++; // the list holds it already
                return;
            }

            // A batch left full by a cancelled wait goes first.
            if (_count > 0 && (_count >= _options.BatchMaxItems || _length + PackedItems.VarintSize((uint)item.Length) + item.Length > _batch.Length))
            {
                await SendAsync(cancellationToken);
            }

            if (_count == 0)
            {
                // Not zeroed: only what Write packs, up to _length, is ever read or sent.
                _batch = GC.AllocateUninitializedArray<byte>(_options.BatchMaxBytes);
                _batchFirst = _offset;
                _length = 0;
                _linger.Change(_options.Linger, Timeout.InfiniteTimeSpan);
            }

            Write(item);
            if (_count >= _options.BatchMaxItems)
            {
                try
                {
                    await SendAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // The item is added: the batch goes (or its room is waited for) on the next call, the linger or the flush.
                }
            }
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>Packs the item into the open batch: its length as a varint, then its UTF-8 bytes.</summary>
    private void Write(PendingItem item)
    {
        _length += PackedItems.WriteVarint(_batch.AsSpan(_length), (uint)item.Length);
        var target = _batch.AsSpan(_length, item.Length);
        if (item.Text is not null)
        {
            StrictUtf8.GetBytes(item.Text, target);
        }
        else
        {
            item.Utf8.Span.CopyTo(target);
        }

        _length += item.Length;
        _count++;
        _offset++;
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

        if (_actor is null)
        {
            _actor = _client.StartProducer(ProducerActor.Props(List, ProducerId, _options, _client.Locator));
            Interlocked.MemoryBarrier(); // the actor's reference out before the flag is read, as DisposeAsync does the reverse
            if (Volatile.Read(ref _disposed))
            {
                // Disposed on another thread while the actor started: DisposeAsync did not see it.
                _actor.Tell(PoisonPill.Instance);
                ObjectDisposedException.ThrowIf(true, this);
            }
        }

        var started = Expect<ProducerActor.Started>(await AskAsync(new ProducerActor.Start(), cancellationToken));
        _resumeAt = started.ResumeOffset;
        return started.ResumeOffset;
    }

    /// <summary>
    /// Hands the open batch to the producer actor, then waits while its window is full. The
    /// batch is handed over only once the previous one was accepted; a cancelled wait leaves
    /// the batch with the actor and the wait to the next hand-over.
    /// </summary>
    private async Task SendAsync(CancellationToken cancellationToken)
    {
        await RoomAsync(cancellationToken);
        if (TakeBatch() is { } batch)
        {
            _offered = AskAsync(new ProducerActor.Offer(batch), CancellationToken.None);
            await RoomAsync(cancellationToken);
        }
    }

    /// <summary>Waits until the producer actor accepted the batch handed to it last (its window has room).</summary>
    private async Task RoomAsync(CancellationToken cancellationToken)
    {
        if (_offered is { } offered)
        {
            var reply = await offered.WaitAsync(cancellationToken);
            _offered = null;
            Expect<ProducerActor.OfferAccepted>(reply);
        }
    }

    /// <summary>The open batch, closed (null if it holds nothing).</summary>
    private AppendBatch? TakeBatch()
    {
        if (_count == 0)
        {
            return null;
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
        return batch;
    }

    /// <summary>The linger time of the open batch is up: it goes as it is, unless it went meanwhile.</summary>
    private async Task LingerAsync()
    {
        var generation = Interlocked.Read(ref _batchGeneration);
        await _gate.EnterAsync();
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
        catch (ObjectDisposedException)
        {
            // The producer actor stopped: the next call says so.
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>
    /// Asks the producer actor, for as long as it answers a probe every
    /// <see cref="ProbeInterval"/> and its acknowledged items move (<see cref="ProgressWatch"/>):
    /// a flush across back-to-back outages is not cut by a bound on the whole call. Ends at
    /// once when the actor stops (this producer or its client disposed, the actor system
    /// stopped). A call given up withdraws its ask.
    /// </summary>
    private async Task<object> AskAsync(object request, CancellationToken cancellationToken)
    {
        var actor = _actor!;
        _stopped ??= Task.WhenAny(actor.WatchAsync(), _client.System.WhenTerminated);
        var watch = new ProgressWatch(ProgressWatch.LimitFor(_options), _options.TimeProvider);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            return await actor.Ask<object>(request, Timeout.InfiniteTimeSpan, call.Token).WhileAnswering(_stopped,
                () => ProbeAsync(actor, watch), ProbeInterval, _options.TimeProvider,
                () => new ObjectDisposedException(null,
                    $"the producer {ProducerId} of list '{List}' was stopped: it or its client was disposed, or its actor system stopped"),
                e => Failed(e as AggregatorException ?? new AggregatorException(
                    $"the producer of list '{List}' did not answer a probe within {ProbeTimeout.TotalSeconds:0} s while a call waited on it", e)));
        }
        catch (Exception) when (!call.IsCancellationRequested)
        {
            // Given up (stopped, silent, stalled): the ask's temporary actor goes now, not never.
            call.Cancel();
            throw;
        }
    }

    private async Task ProbeAsync(IActorRef actor, ProgressWatch watch)
    {
        var progress = await actor.Ask<ProducerActor.Progress>(ProducerActor.GetProgress.Instance, ProbeTimeout);
        if (watch.Stalled(progress.Acknowledged))
        {
            throw new AggregatorUnavailableException(
                $"no item of the producer {ProducerId} of list '{List}' was acknowledged for {watch.Limit.TotalSeconds:0} s{(progress.Unavailable is { } why ? $" (the aggregator: {why})" : "")}; {progress.Acknowledged} items acknowledged (the same producer id resumes after them)",
                progress.Acknowledged);
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
