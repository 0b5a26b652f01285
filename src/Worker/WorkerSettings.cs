using Hosting;

namespace Worker;

/// <summary>
/// The keys of <c>actors.worker</c>, read once at start-up. Their defaults live in the
/// shipped config/worker.hocon only (<see cref="HoconFile.Shipped"/>).
/// </summary>
public sealed record WorkerSettings(
    int BatchMaxItems,
    int BatchMaxBytes,
    int MaxItemBytes,
    int MaxInFlight,
    TimeSpan AckTimeout,
    TimeSpan ConnectTimeout,
    TimeSpan MinBackoff,
    TimeSpan MaxBackoff,
    TimeSpan RequestTimeout,
    TimeSpan UnavailableTimeout)
{
    /// <summary>
    /// The longest a local request to the producer actor may wait (a safety net: the actor
    /// answers within its own time-outs): a whole outage plus a whole unavailable period.
    /// </summary>
    public TimeSpan LocalAskTimeout(TimeSpan connectTimeout) =>
        connectTimeout + UnavailableTimeout + AckTimeout + AckTimeout + TimeSpan.FromMinutes(1);

    /// <exception cref="ConfigurationException">a key is missing, malformed or inconsistent.</exception>
    public static WorkerSettings From(HoconFile file)
    {
        const string prefix = "actors.worker.";
        var frame = (int)(file.Config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size") ?? 128000);
        var settings = new WorkerSettings(
            file.GetInt(prefix + "batch-max-items", 1, 1 << 20),
            file.GetInt(prefix + "batch-max-bytes", 64, int.MaxValue),
            file.GetInt(prefix + "max-item-bytes", 1, 64 << 20),
            file.GetInt(prefix + "max-in-flight", 1, 1024),
            file.GetTimeSpan(prefix + "ack-timeout"),
            file.GetTimeSpan(prefix + "connect-timeout"),
            file.GetTimeSpan(prefix + "retry-min-backoff"),
            file.GetTimeSpan(prefix + "retry-max-backoff"),
            file.GetTimeSpan(prefix + "request-timeout"),
            file.GetTimeSpan(prefix + "unavailable-timeout"));
        const int envelope = 2048;
        if (settings.BatchMaxBytes + envelope > frame)
        {
            throw new ConfigurationException(file.Path, null, prefix + "batch-max-bytes",
                $"{settings.BatchMaxBytes} does not fit the maximum-frame-size of {frame} bytes with {envelope} bytes to spare");
        }

        if (settings.MaxItemBytes + 5 > settings.BatchMaxBytes)
        {
            throw new ConfigurationException(file.Path, null, prefix + "max-item-bytes",
                $"{settings.MaxItemBytes} does not fit in one batch (batch-max-bytes = {settings.BatchMaxBytes})");
        }

        return settings;
    }
}
