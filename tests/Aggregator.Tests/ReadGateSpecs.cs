using Aggregator.Lists;

namespace Aggregator.Tests;

/// <summary>
/// The decisions behind reads in a cluster (<see cref="ReadGate{TRead}"/>), on plain
/// timestamps: which read is answered from memory, which waits for the journal, and what a
/// check's answer, failure or lateness does to the reads waiting for it.
/// </summary>
public sealed class ReadGateSpecs
{
    private static readonly TimeProvider Clock = TimeProvider.System;

    private static long At(double seconds) => (long)(seconds * Clock.TimestampFrequency);

    private static ReadGate<string> Gate(double? windowSeconds = 1) =>
        new(windowSeconds is { } w ? TimeSpan.FromSeconds(w) : null, Clock, provedAt: At(0));

    [Fact]
    public void A_read_within_the_window_of_the_last_proof_is_answered_and_one_after_it_waits_for_a_check()
    {
        var gate = Gate();

        Assert.Equal(Admission.AnswerNow, gate.Admit("early", At(0.999)));
        Assert.Equal(Admission.WaitAndCheck, gate.Admit("late", At(1.0)));
        Assert.Equal(At(1.0), gate.CheckStarted);
        Assert.Equal(Admission.Wait, gate.Admit("later", At(1.2)));
    }

    [Fact]
    public void A_committed_write_moves_the_window()
    {
        var gate = Gate();
        gate.Proved(At(5));
        gate.Proved(At(3)); // an older write's commit does not move it back

        Assert.Equal(Admission.AnswerNow, gate.Admit("read", At(5.9)));
        Assert.Equal(Admission.WaitAndCheck, gate.Admit("read", At(6.1)));
    }

    [Fact]
    public void Without_a_window_every_read_is_answered_at_once()
    {
        var gate = Gate(windowSeconds: null);

        Assert.Equal(Admission.AnswerNow, gate.Admit("read", At(3600)));
        Assert.Null(gate.CheckStarted);
    }

    [Fact]
    public void A_slow_check_answers_the_reads_that_arrived_before_it_started_and_checks_again_only_for_the_later_ones()
    {
        var gate = Gate();
        Assert.Equal(Admission.WaitAndCheck, gate.Admit("before", At(2)));
        Assert.Equal(Admission.Wait, gate.Admit("during", At(2.5)));

        // The journal took 6 s to confirm: the window has long passed, but it looked after "before" arrived.
        var (answer, checkAgain) = gate.Confirmed(At(2), now: At(8));

        Assert.Equal(["before"], answer);
        Assert.True(checkAgain);
        Assert.Equal(At(8), gate.CheckStarted);

        // The second check, quick: "during" arrived before it started.
        (answer, checkAgain) = gate.Confirmed(At(8), now: At(8.01));
        Assert.Equal(["during"], answer);
        Assert.False(checkAgain);
        Assert.Null(gate.CheckStarted);
    }

    [Fact]
    public void A_quick_check_answers_every_waiting_read_within_the_window_it_proves()
    {
        var gate = Gate();
        gate.Admit("a", At(2));
        gate.Admit("b", At(2.1));

        var (answer, checkAgain) = gate.Confirmed(At(2), now: At(2.2));

        Assert.Equal(["a", "b"], answer);
        Assert.False(checkAgain);
        Assert.Equal(Admission.AnswerNow, gate.Admit("c", At(2.9)));
    }

    [Fact]
    public void A_failed_check_gives_back_its_reads_to_refuse_and_a_late_answer_of_it_answers_nothing()
    {
        var gate = Gate();
        gate.Admit("a", At(2));
        gate.Admit("b", At(2.1));

        Assert.Empty(gate.CheckFailed(At(1))); // not the check in flight
        Assert.Equal(["a", "b"], gate.CheckFailed(At(2)));
        Assert.Null(gate.CheckStarted);

        // The journal's answer comes after the time-out: still a proof, but its reads were refused.
        var (answer, checkAgain) = gate.Confirmed(At(2), now: At(7.5));
        Assert.Empty(answer);
        Assert.False(checkAgain);
        Assert.Equal(Admission.WaitAndCheck, gate.Admit("c", At(7.5)));
        Assert.Equal(Admission.AnswerNow, Gate().Admit("fresh", At(0.5)));
    }

    [Fact]
    public void Taking_every_waiting_read_ends_the_check()
    {
        var gate = Gate();
        gate.Admit("a", At(2));
        gate.Admit("b", At(3));

        Assert.Equal(["a", "b"], gate.TakeAll());
        Assert.Null(gate.CheckStarted);
        Assert.Empty(gate.TakeAll());
    }
}
