using System.Diagnostics;

namespace Worker;

/// <summary>
/// How the latency rows time round trips: <c>Worker latency</c>, and bench/ClientBench, which
/// compiles this same file, so that both rows are measured alike.
/// </summary>
internal static class RoundTrips
{
    /// <summary>Untimed pairs before the timed ones.</summary>
    public const int WarmUp = 200;

    /// <summary>
    /// Times <paramref name="count"/> pairs of round trips, one of each kind in turn, after
    /// <see cref="WarmUp"/> untimed pairs: both kinds run on the same warm code, under the same
    /// load, at the same moments. The samples of each kind in µs, sorted; a failed round trip throws.
    /// </summary>
    public static async Task<(double[] First, double[] Second)> TimePairsAsync(int count, Func<Task> first, Func<Task> second)
    {
        var (a, b) = (new double[count], new double[count]);
        for (var i = 0; i < WarmUp + count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await first();
            var between = Stopwatch.GetTimestamp();
            await second();
            var end = Stopwatch.GetTimestamp();
            if (i >= WarmUp)
            {
                a[i - WarmUp] = Stopwatch.GetElapsedTime(start, between).TotalMicroseconds;
                b[i - WarmUp] = Stopwatch.GetElapsedTime(between, end).TotalMicroseconds;
            }
        }

        Array.Sort(a);
        Array.Sort(b);
        return (a, b);
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    public static double Percentile(double[] sorted, int percent)
    {
        var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
