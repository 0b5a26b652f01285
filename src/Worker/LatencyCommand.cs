using System.Diagnostics;
using System.Globalization;

namespace Worker;

/// <summary>
/// <c>latency</c>: appends one item at a time, each waiting for its acknowledgement, and
/// reports the round-trip percentiles. It uses a fresh list of its own and deletes it at the end.
/// Then, as the baseline, as many <c>Identify</c> round trips to the same actor: answered by
/// Akka itself, with none of our code on the way, they are the transport's own floor.
/// </summary>
public static class LatencyCommand
{
    private const int WarmUp = 200;

    public static async Task<int> RunAsync(CommandLine line, AggregatorClient client, TextWriter stdout)
    {
        var count = (int)Math.Min(line.Count ?? 10_000, 10_000_000);
        var list = client.List("latency-" + Guid.NewGuid().ToString("N")[..12]);
        double[] samples;
        try
        {
            await using var producer = list.CreateProducer("probe");
            samples = await TimeAsync(count, async _ =>
            {
                await producer.AddAsync("latency-probe");
                await producer.FlushAsync();
            });
        }
        finally
        {
            await DeleteQuietlyAsync(list);
        }

        var transport = await TimeAsync(count, async _ => await client.PingAsync());
        var (p50, p90, p99, max) = (Percentile(samples, 50), Percentile(samples, 90), Percentile(samples, 99), samples[^1]);
        var (t50, t99) = (Percentile(transport, 50), Percentile(transport, 99));
        await stdout.WriteLineAsync(line.Json
            ? OutputJson.Serialize(new LatencyReport(count, Math.Round(p50, 1), Math.Round(p90, 1), Math.Round(p99, 1), Math.Round(max, 1),
                Math.Round(samples.Average(), 1), Math.Round(t50, 1), Math.Round(t99, 1)))
            : string.Create(CultureInfo.InvariantCulture,
                $"{count} appends, one at a time, each acknowledged: p50 {p50:0} µs, p90 {p90:0} µs, p99 {p99:0} µs, max {max:0} µs; Akka.Remote's own round trip (Identify): p50 {t50:0} µs, p99 {t99:0} µs"));
        return ExitCodes.Success;
    }

    /// <summary>
    /// Times <paramref name="count"/> round trips after <see cref="WarmUp"/> untimed ones; the
    /// samples in µs, sorted; a failed round trip throws.
    /// </summary>
    private static async Task<double[]> TimeAsync(int count, Func<int, Task> roundTrip)
    {
        var samples = new double[count];
        for (var i = 0; i < WarmUp + count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await roundTrip(i);

            if (i >= WarmUp)
            {
                samples[i - WarmUp] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        Array.Sort(samples);
        return samples;
    }

    /// <summary>Best effort: a failure here must not hide the one that ended the probe.</summary>
    private static async Task DeleteQuietlyAsync(AggregatorList list)
    {
        try
        {
            await list.DeleteAsync();
        }
        catch (AggregatorException e)
        {
            await Console.Error.WriteLineAsync($"Worker: could not delete the probe's list '{list.Name}': {e.Message}");
        }
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    internal static double Percentile(double[] sorted, int percent)
    {
        var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
