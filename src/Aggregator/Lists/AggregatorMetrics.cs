using System.Diagnostics.Metrics;
using Protocol.Messages;

namespace Aggregator.Lists;

/// <summary>
/// The aggregator's instruments (System.Diagnostics.Metrics, meter <see cref="MeterName"/>),
/// updated by the actors and exported by OpenTelemetry in Prometheus text format when
/// metrics are on. Instruments are thread-safe; nothing here holds state of its own.
/// </summary>
public sealed class AggregatorMetrics
{
    public const string MeterName = "Actors.Aggregator";

    private readonly Counter<long> _items;
    private readonly Counter<long> _batches;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _refusals;
    private readonly Histogram<double> _journalWrite;
    private readonly UpDownCounter<long> _lists;
    private readonly UpDownCounter<long> _followers;
    private readonly Histogram<double> _recovery;
    private readonly KeyValuePair<string, object?>[] _reasons;

    public AggregatorMetrics(IMeterFactory? factory = null)
    {
        var meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _items = meter.CreateCounter<long>("actors.aggregator.items.appended", "{item}", "items appended to lists (new items only)");
        _batches = meter.CreateCounter<long>("actors.aggregator.batches.appended", "{batch}", "batches that appended at least one item");
        _duplicates = meter.CreateCounter<long>("actors.aggregator.items.duplicate", "{item}", "items acknowledged as already in their list");
        _refusals = meter.CreateCounter<long>("actors.aggregator.refusals", "{request}", "requests refused, by reason");
        _journalWrite = meter.CreateHistogram("actors.aggregator.journal.write.duration", "s",
            "from a batch's event handed to the journal to its commit", advice: Seconds(0.0005, 30));
        _lists = meter.CreateUpDownCounter<long>("actors.aggregator.lists", "{list}", "lists held in memory");
        _followers = meter.CreateUpDownCounter<long>("actors.aggregator.followers", "{follower}", "followers waiting for items");
        _recovery = meter.CreateHistogram("actors.aggregator.recovery.duration", "s", "time to load a list from the journal",
            advice: Seconds(0.001, 60));

        // Reasons as the wire schema names them (TOO_MANY_PRODUCERS), one tag each, made once.
        _reasons = MessagesReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("Refusal").Values.OrderBy(v => v.Number)
            .Select(v => new KeyValuePair<string, object?>("reason", v.Name)).ToArray();
    }

    /// <summary>Buckets for durations in seconds, from <paramref name="first"/> up to <paramref name="last"/>, each about 2.5x the one before.</summary>
    private static InstrumentAdvice<double> Seconds(double first, double last)
    {
        var bounds = new List<double>();
        for (var bound = first; bound <= last * 1.0001; bound *= bounds.Count % 2 == 0 ? 2 : 2.5)
        {
            bounds.Add(Math.Round(bound, 6));
        }

        return new InstrumentAdvice<double> { HistogramBucketBoundaries = bounds };
    }

    public void Appended(uint items, uint duplicates)
    {
        if (items > 0)
        {
            _items.Add(items);
            _batches.Add(1);
        }

        if (duplicates > 0)
        {
            _duplicates.Add(duplicates);
        }
    }

    public void Refused(Refusal reason) =>
        _refusals.Add(1, (int)reason < _reasons.Length ? _reasons[(int)reason] : new KeyValuePair<string, object?>("reason", reason.ToString()));

    public void JournalWrite(TimeSpan elapsed) => _journalWrite.Record(elapsed.TotalSeconds);

    public void ListStarted() => _lists.Add(1);

    public void ListStopped() => _lists.Add(-1);

    public void Followers(int change) => _followers.Add(change);

    public void Recovered(TimeSpan elapsed) => _recovery.Record(elapsed.TotalSeconds);
}
