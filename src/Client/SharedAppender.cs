namespace Actors.Client;

/// <summary>
/// What <see cref="AggregatorList.AppendAsync"/> runs on: one producer per client and list, of
/// an id of the client's own (<c>append-CLIENT-N</c>), that every call on that list goes through
/// in turn (add the call's items, flush). So a list remembers one producer position per client,
/// not one per call (a list remembers at most max-producers-per-list ids). A producer that fails,
/// or whose call is cancelled, is dropped: the next call starts a new one (the next N).
/// </summary>
internal sealed class SharedAppender(AggregatorClient client, string list)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ListProducer? _producer;
    private ProducerResult _before = new(0, 0, 0, 0, TimeSpan.Zero);
    private int _generation;

    /// <summary>Appends <paramref name="items"/> and returns this call's share of the producer's figures.</summary>
    /// <exception cref="ArgumentException">an item is too large or not valid Unicode: nothing of the call was sent.</exception>
    public async Task<ProducerResult> AppendAsync(IEnumerable<string> items, CancellationToken cancellationToken)
    {
        // Every item is checked before any is sent: a bad one refuses the whole call.
        var batch = items.Select((item, i) => ListProducer.Encode(item, (ulong)i, client.Options.MaxItemBytes)).ToArray();
        await _gate.WaitAsync(cancellationToken);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var producer = _producer ??= new ListProducer(client, list, $"append-{client.InstanceId}-{_generation++}");
                try
                {
                    foreach (var item in batch)
                    {
                        await producer.AddAsync(item, cancellationToken);
                    }

                    var after = await producer.FlushAsync(cancellationToken);
                    var result = new ProducerResult(after.Acknowledged - _before.Acknowledged, after.Appended - _before.Appended,
                        after.Duplicates - _before.Duplicates, 0, after.LongestAckWait);
                    _before = after;
                    return result;
                }
                catch (ListDeletedException deleted) when (attempt == 0 && deleted.Acknowledged <= _before.Acknowledged)
                {
                    // Deleted before any item of this call was stored: the call appends to the list as it is now.
                    await DropAsync();
                }
                catch
                {
                    await DropAsync();
                    throw;
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task DropAsync()
    {
        if (_producer is { } producer)
        {
            _producer = null;
            _before = new ProducerResult(0, 0, 0, 0, TimeSpan.Zero);
            await producer.DisposeAsync();
        }
    }
}
