namespace Actors.Client;

/// <summary>
/// One holder of a producer's open batch at a time. The adding caller's hot path enters with
/// one compare-and-swap and never waits (<see cref="TryEnterNow"/>); everything else (start,
/// flush, a full batch, the linger timer) waits its turn (<see cref="EnterAsync"/>), then
/// waits out a hot-path holder, whose hold is one item's copy.
/// </summary>
/// <remarks>
/// A <see cref="SemaphoreSlim"/> alone took a lock to enter and another to leave, for every
/// item: in a worker appending millions of items, those locks were a seventh of its CPU
/// (docs/benchmarks.md, "The producer's hot path").
/// </remarks>
internal sealed class BatchGate
{
    private readonly SemaphoreSlim _turns = new(1, 1);
    private int _held;
    private int _waiting;

    /// <summary>Enters if the batch is free and nobody waits for it; never blocks. Leave with <see cref="ExitNow"/>.</summary>
    public bool TryEnterNow() => Volatile.Read(ref _waiting) == 0 && Interlocked.CompareExchange(ref _held, 1, 0) == 0;

    /// <summary>Leaves what <see cref="TryEnterNow"/> entered.</summary>
    public void ExitNow() => Volatile.Write(ref _held, 0);

    /// <summary>Waits for the batch, in turn with the other waiters. Leave with <see cref="Exit"/>.</summary>
    public async Task EnterAsync(CancellationToken cancellationToken = default)
    {
        await _turns.WaitAsync(cancellationToken);

        // From here the hot path stands aside; at most one item's copy is still in progress.
        Volatile.Write(ref _waiting, 1);
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref _held, 1, 0) != 0)
        {
            spin.SpinOnce();
        }

        Volatile.Write(ref _waiting, 0);
    }

    /// <summary>Leaves what <see cref="EnterAsync"/> entered, to the next waiter if any.</summary>
    public void Exit()
    {
        Volatile.Write(ref _held, 0);
        _turns.Release();
    }
}
