using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Actors.Client;

/// <summary>
/// The client's instruments and traces, both named <see cref="Name"/>: a
/// <see cref="System.Diagnostics.Metrics.Meter"/> (items appended, duplicates, batches acknowledged, requests,
/// durations of appends and requests, in seconds) and an <see cref="System.Diagnostics.ActivitySource"/>
/// (one activity per call). Add them to OpenTelemetry with <c>AddMeter("Actors.Client")</c> and
/// <c>AddSource("Actors.Client")</c>.
/// </summary>
public static class ClientDiagnostics
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "Actors.Client";

    private static readonly string? Version = typeof(ClientDiagnostics).Assembly.GetName().Version?.ToString(3);

    /// <summary>The activity source of every call.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, Version);

    /// <summary>The meter of every instrument.</summary>
    public static Meter Meter { get; } = new(Name, Version);

    private static readonly Counter<long> Appended = Meter.CreateCounter<long>("actors.client.items.appended", "{item}",
        "items the aggregator acknowledged as new");

    private static readonly Counter<long> Duplicates = Meter.CreateCounter<long>("actors.client.items.duplicate", "{item}",
        "items the aggregator acknowledged as already in their list (a resend, or a resumed producer's)");

    private static readonly Counter<long> Batches = Meter.CreateCounter<long>("actors.client.batches.acknowledged", "{batch}",
        "batches acknowledged");

    private static readonly Histogram<double> Durations = Meter.CreateHistogram("actors.client.operation.duration", "s",
        "how long a call took (flush, append, count, read page, delete, stats), by operation",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    internal static Activity? Start(string operation, string? list)
    {
        var activity = ActivitySource.StartActivity(operation, ActivityKind.Client);
        activity?.SetTag("actors.list", list);
        return activity;
    }

    internal static void Acknowledged(ulong appended, ulong duplicates)
    {
        Batches.Add(1);
        if (appended > 0)
        {
            Appended.Add((long)appended);
        }

        if (duplicates > 0)
        {
            Duplicates.Add((long)duplicates);
        }
    }

    internal static void Took(string operation, long startedTimestamp) =>
        Durations.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, new KeyValuePair<string, object?>("operation", operation));
}
