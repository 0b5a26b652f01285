namespace Aggregator.Lists;

/// <summary>
/// When a long recovery says how far it got: first once it has taken <c>every</c>, then each
/// time another <c>every</c> has passed since the last line. A pause longer than that (a slow
/// disk, a stopped process) gives one line when it ends, not one for every interval it
/// spanned. Not thread-safe: owned by one actor.
/// </summary>
public sealed class RecoveryProgress(TimeSpan every)
{
    private readonly TimeSpan _every = every;
    private TimeSpan _next = every;

    /// <summary>Whether a line is due <paramref name="elapsed"/> after the recovery started; if so, the next is due <c>every</c> later.</summary>
    public bool Due(TimeSpan elapsed)
    {
        if (elapsed < _next)
        {
            return false;
        }

        _next = elapsed + _every;
        return true;
    }
}
