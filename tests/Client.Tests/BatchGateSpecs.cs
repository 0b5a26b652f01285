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
        Assert.True(gate.TryEnterNow());
        gate.ExitNow();
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
        Assert.True(gate.TryEnterNow());
        gate.ExitNow();
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
        Assert.True(gate.TryEnterNow());
        gate.ExitNow();
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

        const int TimerEntries = 2_000;
        var adding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timerDone = 0;
        long hot = 0, refused = 0;
        var adder = Task.Run(async () =>
        {
            adding.TrySetResult();
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

                refused++;
                await gate.EnterAsync();
                Entered();
                Leaving();
                gate.Exit();
            }
        });
        var timer = Task.Run(async () =>
        {
            await adding.Task;
            for (var i = 0; i < TimerEntries; i++)
            {
                await gate.EnterAsync();
                Entered();
                await Task.Yield();
                Leaving();
                gate.Exit();
            }

            Volatile.Write(ref timerDone, 1);
        });

        await Task.WhenAll(adder, timer).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, overlaps);
        // They did race: the adder entered by the hot path, and was refused while the timer held the gate.
        Assert.True(hot > 0 && refused > 0, $"{hot} hot-path entries, {refused} refused");
        Assert.True(gate.TryEnterNow(), "the gate is free at the end");
    }
}
