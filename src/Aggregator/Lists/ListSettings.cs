using Hosting;

namespace Aggregator.Lists;

/// <summary>
/// The limits and sizes of <c>actors.aggregator</c>, read once at start-up. Their defaults
/// live in the shipped config/aggregator.hocon only (<see cref="HoconFile.Shipped"/>).
/// </summary>
public sealed record ListSettings(
    int MaxItemBytes,
    int MaxBatchBytes,
    int PageMaxBytes,
    int MaxLists,
    int MaxProducersPerList,
    TimeSpan FollowWait,
    bool Durable,
    TimeSpan ProducerRetention,
    TimeSpan EmptyListPassivation)
{
    /// <summary>
    /// This process's part of every incarnation it makes (the high 32 bits): in memory, an
    /// incarnation made by this process and not held by its list was deleted; one made by
    /// another process was lost with that process.
    /// </summary>
    public uint Instance { get; init; } = (uint)Random.Shared.Next(1, int.MaxValue);

    /// <summary>The address workers reach this node at, as stats name the node holding a list (empty: the answering actor's address).</summary>
    public string Node { get; init; } = string.Empty;

    /// <summary>Bytes of packed items per segment of a list's items in memory.</summary>
    public int SegmentBytes { get; init; } = ItemLog.DefaultSegmentBytes;

    /// <summary>
    /// In a cluster: a read is answered at once only if the journal proved this long ago or
    /// less that the node holds the list (a write proves it); otherwise the journal is asked
    /// first. Null: never asked (a single node, where no other writer can start).
    /// </summary>
    public TimeSpan? ConfirmReadsAfter { get; init; }

    /// <summary>Reads waiting for the journal's confirmation are refused (UNAVAILABLE, ask again) after this long.</summary>
    public TimeSpan HolderCheckTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A recovery that takes longer logs how far it got, then again each time as long has passed.</summary>
    public TimeSpan RecoveryProgressEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Followers one list holds waiting at most; one more is refused UNAVAILABLE (it asks again).</summary>
    public int MaxFollowersPerList { get; init; } = 10_000;

    /// <summary>Journaled on a single node: load every journaled list right after start, not at its first request.</summary>
    public bool LoadAtStart { get; init; }

    /// <summary><see cref="ProducerRetention"/> in milliseconds.</summary>
    public long RetentionMs => (long)ProducerRetention.TotalMilliseconds;

    /// <summary>A new incarnation for a list that starts.</summary>
    public ulong NewIncarnation() => ((ulong)Instance << 32) | (uint)Random.Shared.Next(1, int.MaxValue);

    /// <summary>
    /// True when a request for <paramref name="requested"/> must be refused as deleted by a
    /// list whose incarnation is <paramref name="current"/>: journaled, only a delete ends an
    /// incarnation; in memory, so does a restart of the aggregator, which this process cannot
    /// tell from a delete unless it made the incarnation itself.
    /// </summary>
    public bool WasDeleted(ulong requested, ulong current) =>
        requested != 0 && requested != current && (Durable || (uint)(requested >> 32) == Instance);

    /// <exception cref="ConfigurationException">a key is missing, malformed or inconsistent.</exception>
    public static ListSettings From(HoconFile file, bool durable)
    {
        const string prefix = "actors.aggregator.";
        var frame = file.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size");
        var settings = new ListSettings(
            file.GetInt(prefix + "max-item-bytes", 1, 64 << 20),
            file.GetInt(prefix + "max-batch-bytes", 1024, int.MaxValue),
            file.GetInt(prefix + "page-max-bytes", 1024, int.MaxValue),
            file.GetInt(prefix + "max-lists", 1, int.MaxValue),
            file.GetInt(prefix + "max-producers-per-list", 1, int.MaxValue),
            file.GetTimeSpan(prefix + "follow-wait"),
            durable,
            file.GetTimeSpan(prefix + "producer-retention"),
            file.GetTimeSpan(prefix + "empty-list-passivation"))
        {
            SegmentBytes = file.GetInt(prefix + "segment-bytes", 4096, 1 << 30),
            LoadAtStart = file.GetBoolean(prefix + "load-lists-at-start"),
            MaxFollowersPerList = file.GetInt(prefix + "max-followers-per-list", 1, int.MaxValue),
        };

        // Envelope room: list name, producer id, offsets, Akka's own framing. (In long: a size
        // near int.MaxValue plus the envelope would wrap and pass.)
        const long envelope = 2048;
        if (settings.PageMaxBytes + envelope > frame)
        {
            throw new ConfigurationException(file.Path, null, prefix + "page-max-bytes",
                $"{settings.PageMaxBytes} does not fit the maximum-frame-size of {frame} bytes with {envelope} bytes to spare");
        }

        if (settings.MaxBatchBytes + envelope > frame)
        {
            throw new ConfigurationException(file.Path, null, prefix + "max-batch-bytes",
                $"{settings.MaxBatchBytes} does not fit the maximum-frame-size of {frame} bytes with {envelope} bytes to spare: a batch the limit allows would drop its connection instead of being refused");
        }

        if (settings.MaxItemBytes + 5 > settings.PageMaxBytes)
        {
            throw new ConfigurationException(file.Path, null, prefix + "max-item-bytes",
                $"{settings.MaxItemBytes} is larger than a read page (page-max-bytes = {settings.PageMaxBytes})");
        }

        return settings;
    }
}
