using System.Diagnostics;
using System.Globalization;
using Protocol;
using Protocol.Messages;

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
        var list = "latency-" + Guid.NewGuid().ToString("N")[..12];
        var item = PackedItems.Encode(["latency-probe"]);
        double[]? samples;
        try
        {
            samples = await TimeAsync(count, async i =>
            {
                var batch = new AppendBatch { List = list, Producer = "probe", FirstOffset = (ulong)i, Count = 1, Items = item };
                var reply = await client.RequestAsync(batch);
                if (reply is BatchAppended { Applied: 1 })
                {
                    return true;
                }

                await Console.Error.WriteLineAsync($"Worker: latency probe failed: the aggregator answered {reply}");
                return false;
            });
        }
        finally
        {
            await DeleteQuietlyAsync(client, list);
        }

        if (samples is null)
        {
            return ExitCodes.Failure;
        }

        var transport = (await TimeAsync(count, async i =>
        {
            _ = await client.RequestAsync(new Akka.Actor.Identify(i));
            return true;
        }))!;

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
    /// samples in µs, sorted, or null as soon as one round trip says it failed.
    /// </summary>
    private static async Task<double[]?> TimeAsync(int count, Func<int, Task<bool>> roundTrip)
    {
        var samples = new double[count];
        for (var i = 0; i < WarmUp + count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            if (!await roundTrip(i))
            {
                return null;
            }

            if (i >= WarmUp)
            {
                samples[i - WarmUp] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        Array.Sort(samples);
        return samples;
    }

    /// <summary>Best effort: a failure here must not hide the one that ended the probe.</summary>
    private static async Task DeleteQuietlyAsync(AggregatorClient client, string list)
    {
        try
        {
            await client.RequestAsync(new DeleteList { List = list });
        }
        catch (Exception e) when (e is TimeoutException or AggregatorUnreachableException or RequestRefusedException)
        {
            await Console.Error.WriteLineAsync($"Worker: could not delete the probe's list '{list}': {e.Message}");
        }
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    internal static double Percentile(double[] sorted, int percent)
    {
        var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
