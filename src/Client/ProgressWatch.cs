namespace Actors.Client;

/// <summary>
/// Whether a call waiting on the producer actor still gets anywhere: the items acknowledged,
/// as each probe reports them, must move at least once every <see cref="Limit"/>. A bound on
/// a lack of progress, not on the call: a flush across several outages, each within the
/// producer's own time-outs, goes on however long they take together while items keep being
/// acknowledged, and one that stalls (an aggregator that accepts, answers where to resume,
/// and dies before acknowledging, again and again) ends.
/// </summary>
internal sealed class ProgressWatch(TimeSpan limit, TimeProvider clock)
{
    private readonly long _started = clock.GetTimestamp();
    private ulong? _acknowledged;
    private long _movedAt;

    public TimeSpan Limit { get; } = limit;

    /// <summary>The default limit: what the producer's own time-outs allow one outage, and a minute more.</summary>
    public static TimeSpan LimitFor(AggregatorClientOptions options) =>
        options.ConnectTimeout + options.UnavailableTimeout + options.AckTimeout + options.AckTimeout + TimeSpan.FromMinutes(1);

    /// <summary>Takes one probe's count of acknowledged items; true when none has moved for longer than the limit.</summary>
    public bool Stalled(ulong acknowledged)
    {
        var now = clock.GetTimestamp();
        if (_acknowledged != acknowledged)
        {
            // The first probe's count starts the watch from the call's start.
            _movedAt = _acknowledged is null ? _started : now;
            _acknowledged = acknowledged;
        }

        return clock.GetElapsedTime(_movedAt, now) > Limit;
    }
}
