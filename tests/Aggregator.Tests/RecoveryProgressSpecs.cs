using Aggregator.Lists;

namespace Aggregator.Tests;

/// <summary>When a long recovery logs how far it got (<see cref="RecoveryProgress"/>), on plain elapsed times.</summary>
public sealed class RecoveryProgressSpecs
{
    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void A_recovery_should_say_nothing_before_the_interval_and_then_once_an_interval()
    {
        var progress = new RecoveryProgress(S(5));

        Assert.False(progress.Due(S(0)));
        Assert.False(progress.Due(S(4.999)));
        Assert.True(progress.Due(S(5)));
        Assert.False(progress.Due(S(5.1)));
        Assert.False(progress.Due(S(9.9)));
        Assert.True(progress.Due(S(10)));
    }

    [Fact]
    public void A_long_pause_should_give_one_line_and_the_next_an_interval_after_it()
    {
        var progress = new RecoveryProgress(S(5));

        Assert.True(progress.Due(S(23))); // one line, not four
        Assert.False(progress.Due(S(25)));
        Assert.False(progress.Due(S(27.9)));
        Assert.True(progress.Due(S(28)));
    }

    [Fact]
    public void A_zero_interval_should_log_every_event()
    {
        var progress = new RecoveryProgress(TimeSpan.Zero);

        Assert.True(progress.Due(S(0)));
        Assert.True(progress.Due(S(0)));
        Assert.True(progress.Due(S(1)));
    }
}
