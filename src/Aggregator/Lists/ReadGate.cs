namespace Aggregator.Lists;

/// <summary>
/// Which reads a list's copy in a cluster may answer from memory, and which wait for the
/// journal to confirm that its node still holds the list (<see cref="ListSettings.ConfirmReadsAfter"/>).
/// Plain state over the clock's timestamps: the list actor feeds it and carries out what it says.
/// </summary>
/// <typeparam name="TRead">a read waiting for a check (the request and whom to answer).</typeparam>
public sealed class ReadGate<TRead>(TimeSpan? window, TimeProvider clock, long provedAt)
{
    private readonly List<(TRead Read, long Arrived)> _waiting = [];

    /// <summary>When the journal last proved the list held: the start of a committed write, or of a check it confirmed.</summary>
    private long _provedAt = provedAt;

    /// <summary>When the check in flight started (null: none).</summary>
    public long? CheckStarted { get; private set; }

    /// <summary>A write that started at <paramref name="started"/> was committed: the list was held then.</summary>
    public void Proved(long started) => _provedAt = Math.Max(_provedAt, started);

    /// <summary>A read arrives at <paramref name="now"/>: answer it now, or let it wait (and start a check if none is in flight).</summary>
    public Admission Admit(TRead read, long now)
    {
        if (Within(now))
        {
            return Admission.AnswerNow;
        }

        _waiting.Add((read, now));
        if (CheckStarted is not null)
        {
            return Admission.Wait;
        }

        CheckStarted = now;
        return Admission.WaitAndCheck;
    }

    /// <summary>
    /// The journal confirmed, after <paramref name="started"/>, that the list is held: the reads
    /// that arrived before the check started are answered whatever the time now (the journal
    /// looked after they arrived, and no other node can have written before it looked), and so
    /// are later ones still within the window. Returns them, and whether another check must
    /// start now for the rest.
    /// </summary>
    public (IReadOnlyList<TRead> Answer, bool CheckAgain) Confirmed(long started, long now)
    {
        Proved(started);
        if (CheckStarted != started)
        {
            return ([], false); // after its time-out: its reads were refused
        }

        CheckStarted = null;
        var answer = new List<TRead>();
        var withinWindow = Within(now);
        _waiting.RemoveAll(waiting =>
        {
            if (waiting.Arrived <= started || withinWindow)
            {
                answer.Add(waiting.Read);
                return true;
            }

            return false;
        });
        if (_waiting.Count == 0)
        {
            return (answer, false);
        }

        CheckStarted = now;
        return (answer, true);
    }

    /// <summary>True when the last proof is recent enough at <paramref name="now"/> (always without a window).</summary>
    private bool Within(long now) => window is not { } within || clock.GetElapsedTime(_provedAt, now) < within;

    /// <summary>The check that started at <paramref name="started"/> failed or timed out: its reads are refused (none if it is not the one in flight).</summary>
    public IReadOnlyList<TRead> CheckFailed(long started) => CheckStarted == started ? TakeAll() : [];

    /// <summary>Every waiting read, forgotten (to refuse them); no check is in flight any more.</summary>
    public IReadOnlyList<TRead> TakeAll()
    {
        CheckStarted = null;
        var all = _waiting.Select(w => w.Read).ToList();
        _waiting.Clear();
        return all;
    }
}

/// <summary>What to do with a read that arrives.</summary>
public enum Admission
{
    /// <summary>The list is known to be held: answer from memory.</summary>
    AnswerNow,

    /// <summary>The read waits for the check in flight.</summary>
    Wait,

    /// <summary>The read waits, and a check starts now.</summary>
    WaitAndCheck,
}
