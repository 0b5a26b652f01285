using Protocol;

namespace Aggregator;

/// <summary>The limits and sizes of <c>actors.aggregator</c>, read once at start-up.</summary>
public sealed record ListSettings(
    int MaxItemBytes,
    int MaxBatchBytes,
    int PageMaxBytes,
    int MaxLists,
    int MaxProducersPerList,
    TimeSpan FollowWait,
    bool Durable = false,
    long SnapshotMinBytes = 64L << 20)
{
    public static ListSettings Default { get; } = new(65536, 120000, 80000, 10000, 100000, TimeSpan.FromSeconds(10));

    /// <exception cref="ConfigurationException">a key is missing, malformed or inconsistent.</exception>
    public static ListSettings From(HoconFile file, bool durable)
    {
        const string prefix = "actors.aggregator.";
        var frame = (int)(file.Config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size") ?? 128000);
        var settings = new ListSettings(
            file.GetInt(prefix + "max-item-bytes", 1, 64 << 20),
            file.GetInt(prefix + "max-batch-bytes", 1024, int.MaxValue),
            file.GetInt(prefix + "page-max-bytes", 1024, int.MaxValue),
            file.GetInt(prefix + "max-lists", 1, int.MaxValue),
            file.GetInt(prefix + "max-producers-per-list", 1, int.MaxValue),
            file.GetTimeSpan(prefix + "follow-wait"),
            durable,
            file.GetInt(prefix + "snapshot-min-bytes", 1, int.MaxValue));

        // Envelope room: list name, producer id, offsets, Akka's own framing.
        const int envelope = 2048;
        if (settings.PageMaxBytes + envelope > frame)
        {
            throw new ConfigurationException(file.Path, null, prefix + "page-max-bytes",
                $"{settings.PageMaxBytes} does not fit the maximum-frame-size of {frame} bytes with {envelope} bytes to spare");
        }

        if (settings.MaxItemBytes + 5 > settings.PageMaxBytes)
        {
            throw new ConfigurationException(file.Path, null, prefix + "max-item-bytes",
                $"{settings.MaxItemBytes} is larger than a read page (page-max-bytes = {settings.PageMaxBytes})");
        }

        return settings;
    }
}
