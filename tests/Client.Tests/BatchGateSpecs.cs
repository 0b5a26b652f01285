using Actors.Client;

namespace Client.Tests;

/// <summary>
/// The producer's gate over its open batch: the hot path enters without waiting, everything
/// else in turn, and never two holders at once.
/// </summary>
public sealed class BatchGateSpecs
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_hot_path_entry_should_keep_every_other_entry_out_until_it_exits()
    {
        var gate = new BatchGate();
        Assert.True(gate.TryEnterNow());
        Assert.False(gate.TryEnterNow());

        // EnterAsync waits out the holder on its own thread.
        var entering = Task.Run(() => gate.EnterAsync());
        Assert.NotSame(entering, await Task.WhenAny(entering, Task.Delay(TimeSpan.FromMilliseconds(200))));

        gate.ExitNow();
        await entering.WaitAsync(Bound);
        Assert.False(gate.TryEnterNow());
        gate.Exit();
        AssertFree(gate);
    }

    [Fact]
    public async Task Waiting_entries_should_enter_one_after_the_other_and_keep_the_hot_path_out_meanwhile()
    {
        var gate = new BatchGate();
        await gate.EnterAsync().WaitAsync(Bound);
        var second = gate.EnterAsync();
        Assert.False(second.IsCompleted);
        Assert.False(gate.TryEnterNow());

        gate.Exit();
        await second.WaitAsync(Bound);
        Assert.False(gate.TryEnterNow());

        gate.Exit();
        AssertFree(gate);
    }

    [Fact]
    public async Task A_waiting_entry_should_be_cancellable_before_it_enters()
    {
        var gate = new BatchGate();
        await gate.EnterAsync().WaitAsync(Bound);
        using var cancel = new CancellationTokenSource();
        var waiting = gate.EnterAsync(cancel.Token);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));

        gate.Exit();
        AssertFree(gate);
    }

    [Fact]
    public async Task The_hot_path_and_waiting_entries_racing_should_never_hold_the_gate_together()
    {
        // As in a producer: one caller adding (the hot path, or in turn when it is refused) and
        // a timer entering in turn now and then, holding across an await.
        var gate = new BatchGate();
        var inside = 0;
        var overlaps = 0;
        void Entered()
        {
            if (Interlocked.Increment(ref inside) != 1)
            {
                Interlocked.Increment(ref overlaps);
            }
        }

        void Leaving() => Interlocked.Decrement(ref inside);

        // Each of the timer's turns lasts until it has kept the adder out (refused on the hot
        // path, or waiting for its own turn), so the two race on every turn whatever the
        // scheduler does; or until the deadline: a gate that let the adder in would show as an
        // overlap, not hang the spec.
        const int TimerEntries = 500;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        var timerDone = 0;
        long hot = 0, refused = 0, contested = 0;
        var adderWaits = 0;
        var adder = Task.Run(async () =>
        {
            while (Volatile.Read(ref timerDone) == 0)
            {
                if (gate.TryEnterNow())
                {
                    Entered();
                    hot++;
                    Leaving();
                    gate.ExitNow();
                    continue;
                }

                Interlocked.Increment(ref refused);
                Volatile.Write(ref adderWaits, 1);
                await gate.EnterAsync();
                Volatile.Write(ref adderWaits, 0);
                Entered();
                Leaving();
                gate.Exit();
            }
        });
        var timer = Task.Run(async () =>
        {
            for (var i = 0; i < TimerEntries; i++)
            {
                // Only the timer's turns refuse the adder (the adder never tries the hot path while
                // it holds the gate itself), so a refusal from here on is this turn's.
                var before = Interlocked.Read(ref refused);
                await gate.EnterAsync();
                Entered();
                bool Kept() => Interlocked.Read(ref refused) != before || Volatile.Read(ref adderWaits) == 1;
                while (!Kept() && DateTime.UtcNow < deadline)
                {
                    await Task.Yield();
                }

                if (Kept())
                {
                    contested++;
                }

                Leaving();
                gate.Exit();
            }

            Volatile.Write(ref timerDone, 1);
        });

        await Task.WhenAll(adder, timer).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, overlaps);
        // Every turn of the timer's kept the adder out; the adder also entered by the hot path
        // in between.
        Assert.Equal(TimerEntries, contested);
        Assert.True(hot > 0, $"{hot} hot-path entries, {refused} refused");
        Assert.True(gate.TryEnterNow(), "the gate is free at the end");
    }

    /// <summary>Nobody holds the gate: the hot path enters at once (and leaves again).</summary>
    private static void AssertFree(BatchGate gate)
    {
        Assert.True(gate.TryEnterNow());
        gate.ExitNow();
    }
}
