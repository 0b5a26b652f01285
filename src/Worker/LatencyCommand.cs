using System.Globalization;

namespace Worker;

/// <summary>
/// <c>latency</c>: appends one item at a time, each waiting for its acknowledgement, and
/// reports the round-trip percentiles. It uses a fresh list of its own and deletes it at the end.
/// Each append is followed by an <c>Identify</c> round trip to the same actor, the baseline:
/// answered by Akka itself, with none of our code on the way, it is the transport's own floor,
/// and taken in turn with the appends it sees the same machine and the same warm code.
/// </summary>
public static class LatencyCommand
{
    public static async Task<int> RunAsync(CommandLine line, AggregatorClient client, TextWriter stdout)
    {
        var count = (int)Math.Min(line.Count ?? 10_000, 10_000_000);
        var list = client.List("latency-" + Guid.NewGuid().ToString("N")[..12]);
        double[] samples, transport;
        try
        {
            await using var producer = list.CreateProducer("probe");
            (samples, transport) = await RoundTrips.TimePairsAsync(count,
                async () =>
                {
                    await producer.AddAsync("latency-probe");
                    await producer.FlushAsync();
                },
                async () => await client.PingAsync());
        }
        finally
        {
            await DeleteQuietlyAsync(list);
        }

        var (p50, p90, p99, max) = (RoundTrips.Percentile(samples, 50), RoundTrips.Percentile(samples, 90), RoundTrips.Percentile(samples, 99), samples[^1]);
        var (t50, t99) = (RoundTrips.Percentile(transport, 50), RoundTrips.Percentile(transport, 99));
        await stdout.WriteLineAsync(line.Json
            ? OutputJson.Serialize(new LatencyReport(count, Math.Round(p50, 1), Math.Round(p90, 1), Math.Round(p99, 1), Math.Round(max, 1),
                Math.Round(samples.Average(), 1), Math.Round(t50, 1), Math.Round(t99, 1)))
            : string.Create(CultureInfo.InvariantCulture,
                $"{count} appends, one at a time, each acknowledged: p50 {p50:0} µs, p90 {p90:0} µs, p99 {p99:0} µs, max {max:0} µs; Akka.Remote's own round trip (Identify): p50 {t50:0} µs, p99 {t99:0} µs"));
        return ExitCodes.Success;
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

}
