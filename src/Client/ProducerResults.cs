namespace Actors.Client;

/// <summary>What a producer's run stored: every count is of items of its input.</summary>
/// <param name="Acknowledged">items of the input now in the list: the offset a producer of the same id resumes at.</param>
/// <param name="Appended">items this run added to the list.</param>
/// <param name="Duplicates">items sent that the list held already (a resend whose acknowledgement was lost).</param>
/// <param name="AlreadyStored">items skipped at the start because the list held them (a resumed producer).</param>
/// <param name="LongestAckWait">the longest time batches waited with no acknowledgement moving on (a failover shows here).</param>
public sealed record ProducerResult(ulong Acknowledged, ulong Appended, ulong Duplicates, ulong AlreadyStored, TimeSpan LongestAckWait);

/// <summary>A producer's progress.</summary>
/// <param name="Acknowledged">items of its input acknowledged.</param>
/// <param name="Appended">of those, new in the list.</param>
/// <param name="Duplicates">of those, the list held already.</param>
/// <param name="Connected">whether it has an aggregator now.</param>
/// <param name="Unavailable">why the aggregator cannot store items, while it cannot; else null.</param>
public sealed record ProducerProgress(ulong Acknowledged, ulong Appended, ulong Duplicates, bool Connected, string? Unavailable);

/// <summary>An item on its way into a batch: a string to encode, or UTF-8 bytes to copy, and its UTF-8 length.</summary>
internal readonly record struct PendingItem(string? Text, ReadOnlyMemory<byte> Utf8, int Length);
