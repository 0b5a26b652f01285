using Microsoft.Extensions.Time.Testing;

namespace Client.Tests;

/// <summary>
/// A call's wait on the producer actor (<see cref="Waits.WhileAnswering{T}"/>): it has no bound
/// of its own while the actor answers a probe every interval (a flush across back-to-back
/// outages is the actor's to end), and ends when a probe goes unanswered or the actor stops.
/// Time is a fake clock; the spec waits for each timer to exist before it moves the clock.
/// </summary>
public sealed class WaitsSpecs
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly WatchedTime _time = new();
    private readonly TaskCompletionSource<int> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _probed = new(0);
    private int _probes;

    private Task<int> Wait(Func<Task> probe) => _result.Task.WhileAnswering(_stopped.Task, () =>
    {
        Interlocked.Increment(ref _probes);
        _probed.Release();
        return probe();
    }, Interval, _time, () => new ObjectDisposedException("stopped"), e => new InvalidOperationException("silent", e));

    [Fact]
    public async Task A_wait_goes_on_past_any_number_of_intervals_while_every_probe_is_answered()
    {
        var waiting = Wait(() => Task.CompletedTask);
        for (var interval = 1; interval <= 20; interval++)
        {
            Assert.True(await _time.TimerCreatedAsync(Bound), $"no timer for interval {interval}");
            _time.Fake.Advance(Interval - TimeSpan.FromMilliseconds(1));
            Assert.Equal(interval - 1, Volatile.Read(ref _probes)); // not probed before the interval is up
            _time.Fake.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.True(await _time.TimerCreatedAsync(Bound));
        Assert.Equal(20, Volatile.Read(ref _probes));
        Assert.False(waiting.IsCompleted);

        _result.SetResult(7);
        Assert.Equal(7, await waiting.WaitAsync(Bound));
    }

    [Fact]
    public async Task A_result_within_the_first_interval_is_returned_without_a_probe()
    {
        var waiting = Wait(() => Task.CompletedTask);
        _result.SetResult(3);
        Assert.Equal(3, await waiting.WaitAsync(Bound));
        Assert.Equal(0, _probes);
    }

    [Fact]
    public async Task An_unanswered_probe_ends_the_wait_with_why()
    {
        var waiting = Wait(() => Task.FromException(new TimeoutException("no answer within 30 s")));
        Assert.True(await _time.TimerCreatedAsync(Bound));
        _time.Fake.Advance(Interval);

        var silent = await Assert.ThrowsAsync<InvalidOperationException>(() => waiting.WaitAsync(Bound));
        Assert.Equal("no answer within 30 s", Assert.IsType<TimeoutException>(silent.InnerException).Message);
        Assert.Equal(1, _probes);
    }

    [Fact]
    public async Task A_stop_ends_the_wait_at_once_without_a_probe()
    {
        var waiting = Wait(() => Task.CompletedTask);
        _stopped.SetResult();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.WaitAsync(Bound));
        Assert.Equal(0, _probes);
    }

    [Fact]
    public async Task A_stop_while_a_probe_is_out_ends_the_wait_at_once()
    {
        var probe = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = Wait(() => probe.Task);
        Assert.True(await _time.TimerCreatedAsync(Bound));
        _time.Fake.Advance(Interval);
        Assert.True(await _probed.WaitAsync(Bound));

        _stopped.SetResult();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.WaitAsync(Bound));
        probe.SetException(new TimeoutException("late")); // observed by the wait, never raised unobserved
    }

    [Fact]
    public async Task A_result_while_a_probe_is_out_is_returned_at_once()
    {
        var probe = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = Wait(() => probe.Task);
        Assert.True(await _time.TimerCreatedAsync(Bound));
        _time.Fake.Advance(Interval);
        Assert.True(await _probed.WaitAsync(Bound));

        _result.SetResult(5);
        Assert.Equal(5, await waiting.WaitAsync(Bound));
        Assert.False(probe.Task.IsCompleted);
    }

    [Fact]
    public async Task The_callers_cancellation_ends_the_wait_through_the_task_it_cancels()
    {
        using var cancel = new CancellationTokenSource();
        var asked = _result.Task.WaitAsync(cancel.Token);
        var waiting = asked.WhileAnswering(_stopped.Task, () => Task.CompletedTask, Interval, _time,
            () => new ObjectDisposedException("stopped"), e => new InvalidOperationException("silent", e));

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));
    }

    [Fact]
    public async Task A_stalled_producer_is_told_from_one_that_moves_by_the_acknowledged_count_of_each_probe()
    {
        var limit = TimeSpan.FromMinutes(6);
        var watch = new ProgressWatch(limit, _time.Fake);

        // Counted from the call's start: the first probe's count is where it stood then.
        _time.Fake.Advance(limit);
        Assert.False(watch.Stalled(10));
        _time.Fake.Advance(TimeSpan.FromSeconds(1));
        Assert.True(watch.Stalled(10));

        // Any acknowledgement starts the limit again, however long the call has waited.
        Assert.False(watch.Stalled(11));
        _time.Fake.Advance(limit);
        Assert.False(watch.Stalled(11));
        _time.Fake.Advance(TimeSpan.FromTicks(1));
        Assert.True(watch.Stalled(11));
    }

    /// <summary>A fake clock that says when a timer was created on it.</summary>
    private sealed class WatchedTime : TimeProvider
    {
        private readonly SemaphoreSlim _created = new(0);

        public FakeTimeProvider Fake { get; } = new();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = Fake.CreateTimer(callback, state, dueTime, period);
            _created.Release();
            return timer;
        }

        public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

        public Task<bool> TimerCreatedAsync(TimeSpan bound) => _created.WaitAsync(bound);
    }
}
