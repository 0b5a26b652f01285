using System.Diagnostics.Metrics;
using Protocol.Messages;

namespace Aggregator;

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
    private readonly Histogram<double> _snapshotDuration;
    private readonly Histogram<long> _snapshotSize;
    private readonly Histogram<double> _recovery;
    private readonly KeyValuePair<string, object?>[] _reasons;

    public AggregatorMetrics(IMeterFactory? factory = null)
    {
        var meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _items = meter.CreateCounter<long>("actors.aggregator.items.appended", "{item}", "items appended to lists (new items only)");
        _batches = meter.CreateCounter<long>("actors.aggregator.batches.appended", "{batch}", "batches that appended at least one item");
        _duplicates = meter.CreateCounter<long>("actors.aggregator.items.duplicate", "{item}", "items acknowledged as already in their list");
        _refusals = meter.CreateCounter<long>("actors.aggregator.refusals", "{request}", "requests refused, by reason");
        _journalWrite = meter.CreateHistogram<double>("actors.aggregator.journal.write.duration", "ms",
            "from a batch's event handed to the journal to its commit");
        _lists = meter.CreateUpDownCounter<long>("actors.aggregator.lists", "{list}", "lists held in memory");
        _followers = meter.CreateUpDownCounter<long>("actors.aggregator.followers", "{follower}", "followers waiting for items");
        _snapshotDuration = meter.CreateHistogram<double>("actors.aggregator.snapshot.duration", "ms", "time to save a list's snapshot");
        _snapshotSize = meter.CreateHistogram<long>("actors.aggregator.snapshot.size", "By", "items' bytes in a saved snapshot");
        _recovery = meter.CreateHistogram<double>("actors.aggregator.recovery.duration", "ms", "time to load a list from the journal");

        // Reasons as the wire schema names them (TOO_MANY_PRODUCERS), one tag each, made once.
        _reasons = MessagesReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("Refusal").Values.OrderBy(v => v.Number)
            .Select(v => new KeyValuePair<string, object?>("reason", v.Name)).ToArray();
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

    public void JournalWrite(TimeSpan elapsed) => _journalWrite.Record(elapsed.TotalMilliseconds);

    public void ListStarted() => _lists.Add(1);

    public void ListStopped() => _lists.Add(-1);

    public void Followers(int change) => _followers.Add(change);

    public void Snapshot(TimeSpan elapsed, long bytes)
    {
        _snapshotDuration.Record(elapsed.TotalMilliseconds);
        _snapshotSize.Record(bytes);
    }

    public void Recovered(TimeSpan elapsed) => _recovery.Record(elapsed.TotalMilliseconds);
}
