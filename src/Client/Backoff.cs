namespace Actors.Client;

/// <summary>
/// The one back-off of the client: waits that start at a minimum and double up to a maximum,
/// and start again from the minimum once something succeeds. A value: each user holds its own.
/// </summary>
internal struct Backoff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private TimeSpan _next;

    public Backoff(TimeSpan min, TimeSpan max)
    {
        _min = min;
        _max = max;
        _next = min;
    }

    /// <summary>The wait to take now; the one after it is twice as long, up to the maximum.</summary>
    public TimeSpan Next()
    {
        var wait = _next;
        _next = _next * 2 < _max ? _next * 2 : _max;
        return wait;
    }

    /// <summary>Success: the next wait is the minimum again.</summary>
    public void Reset() => _next = _min;
}
