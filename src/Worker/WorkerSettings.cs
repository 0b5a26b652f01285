using Hosting;

namespace Worker;

/// <summary>
/// The client library's options from the worker's checked configuration file: the keys of
/// <c>actors.worker</c> (their defaults live in the shipped config/worker.hocon only,
/// <see cref="HoconFile.Shipped"/>), and the file's <c>akka</c> settings for the client's actor
/// system (the one-line stderr log among them).
/// </summary>
public static class WorkerSettings
{
    /// <exception cref="ConfigurationException">a key is missing, malformed or inconsistent.</exception>
    public static AggregatorClientOptions From(HoconFile file)
    {
        const string prefix = "actors.worker.";
        var frame = (int)Math.Min(file.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size"), int.MaxValue);
        var options = new AggregatorClientOptions
        {
            BatchMaxItems = file.GetInt(prefix + "batch-max-items", 1, 1 << 20),
            BatchMaxBytes = file.GetInt(prefix + "batch-max-bytes", 64, int.MaxValue),
            MaxItemBytes = file.GetInt(prefix + "max-item-bytes", 1, 64 << 20),
            MaxInFlight = file.GetInt(prefix + "max-in-flight", 1, 1024),
            AckTimeout = file.GetTimeSpan(prefix + "ack-timeout"),
            ConnectTimeout = file.GetTimeSpan(prefix + "connect-timeout"),
            RetryMinBackoff = file.GetTimeSpan(prefix + "retry-min-backoff"),
            RetryMaxBackoff = file.GetTimeSpan(prefix + "retry-max-backoff"),
            RequestTimeout = file.GetTimeSpan(prefix + "request-timeout"),
            UnavailableTimeout = file.GetTimeSpan(prefix + "unavailable-timeout"),
            Linger = file.GetTimeSpan(prefix + "linger"),
            SystemName = Protocol.ActorNames.WorkerSystem,
            SystemConfig = file.Config,
        };
        const long envelope = AggregatorClientOptions.BatchEnvelopeBytes; // in long: a size near int.MaxValue plus the envelope would wrap and pass
        if (options.BatchMaxBytes + envelope > frame)
        {
            throw new ConfigurationException(file.Path, null, prefix + "batch-max-bytes",
                $"{options.BatchMaxBytes} does not fit the maximum-frame-size of {frame} bytes with {envelope} bytes to spare");
        }

        if (options.MaxItemBytes + 5 > options.BatchMaxBytes)
        {
            throw new ConfigurationException(file.Path, null, prefix + "max-item-bytes",
                $"{options.MaxItemBytes} does not fit in one batch (batch-max-bytes = {options.BatchMaxBytes})");
        }

        if (options.RetryMaxBackoff < options.RetryMinBackoff)
        {
            throw new ConfigurationException(file.Path, null, prefix + "retry-max-backoff",
                $"{options.RetryMaxBackoff.TotalSeconds:0.###} s is below retry-min-backoff ({options.RetryMinBackoff.TotalSeconds:0.###} s)");
        }

        return options;
    }
}
