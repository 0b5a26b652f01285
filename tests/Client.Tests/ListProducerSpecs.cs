using Microsoft.Extensions.Time.Testing;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Client.Tests;

/// <summary>
/// The public producer (batching, linger, the window, resume) on a client that runs in the
/// TestKit's own system, against a scripted aggregator. The linger runs on a fake clock: a
/// batch leaves on it only when the spec moves time on.
/// </summary>
public sealed class ListProducerSpecs(ITestOutputHelper output) : ScriptedAggregatorKit(output)
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task ListProducer_should_cut_batches_by_item_count_and_by_bytes_without_losing_or_reordering_an_item()
    {
        // Short items first (16 of them fit in 200 bytes: cut by count), then long ones (about
        // 8 fit: cut by bytes).
        await using var client = Client(o => (o.BatchMaxItems, o.BatchMaxBytes, o.MaxItemBytes) = (16, 200, 100));
        await using var producer = client.List("orders").CreateProducer("p1");
        var items = Enumerable.Range(0, 500).Select(i => $"i{i}")
            .Concat(Enumerable.Range(0, 500).Select(i => $"a-longer-item-{i:D6}")).ToArray();
        var adding = Task.Run(async () =>
        {
            foreach (var item in items)
            {
                await producer.AddAsync(item);
            }

            return await producer.FlushAsync();
        });
        await ResumeAtAsync(0);

        var received = new List<string>();
        var batches = new List<(uint Count, int Bytes)>();
        while (received.Count < items.Length)
        {
            var batch = await AckNextAsync();
            Assert.InRange(batch.Count, 1u, 16u);
            Assert.InRange(batch.Items.Length, 1, 200);
            Assert.Equal((ulong)received.Count, batch.FirstOffset);
            received.AddRange(PackedItems.Decode(batch.Items.Span));
            batches.Add((batch.Count, batch.Items.Length));
        }

        var result = await adding.WaitAsync(RemainingOrDefault);
        Assert.Equal(items, received);
        Assert.Contains(batches, b => b.Count == 16);
        // A batch of long items (21 bytes packed) cut because the next one would not fit.
        Assert.Contains(batches.SkipLast(1), b => b.Count < 16 && b.Bytes + 21 > 200);
        Assert.Equal((1000ul, 1000ul, 0ul), (result.Acknowledged, result.Appended, result.Duplicates));
    }

    [Fact]
    public async Task ListProducer_should_send_a_batch_that_is_not_full_once_its_linger_time_is_up()
    {
        await using var client = Client(o => o.Linger = TimeSpan.FromMilliseconds(5));
        await using var producer = client.List("orders").CreateProducer("p1");
        var starting = producer.StartAsync();
        await ResumeAtAsync(0);
        await starting.WaitAsync(RemainingOrDefault);

        await producer.AddAsync("a").AsTask().WaitAsync(RemainingOrDefault);
        await producer.AddAsync("b").AsTask().WaitAsync(RemainingOrDefault);
        await Aggregator.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300)); // the fake clock has not moved
        _time.Advance(TimeSpan.FromMilliseconds(5));

        var batch = await AckNextAsync();
        Assert.Equal(["a", "b"], PackedItems.Decode(batch.Items.Span));
        Assert.Equal(2ul, (await producer.FlushAsync().WaitAsync(RemainingOrDefault)).Acknowledged);
    }

    [Fact]
    public async Task ListProducer_should_hold_an_add_while_its_window_is_full_until_an_acknowledgement_comes()
    {
        // A batch per item, two unacknowledged at most: the add that fills the window waits.
        await using var client = Client(o => (o.MaxInFlight, o.BatchMaxItems) = (2, 1));
        await using var producer = client.List("orders").CreateProducer("p1");
        var first = producer.AddAsync("a").AsTask();
        await ResumeAtAsync(0);
        await first.WaitAsync(RemainingOrDefault);

        var second = producer.AddAsync("b").AsTask();
        var sent = await Aggregator.ExpectMsgAsync<AppendBatch>();
        var actor = Aggregator.LastSender;
        Assert.Equal(1ul, (await Aggregator.ExpectMsgAsync<AppendBatch>()).FirstOffset);
        await Aggregator.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        Assert.False(second.IsCompleted, "the add waits while the window is full");

        actor.Tell(Ack(sent), Aggregator.Ref);
        await second.WaitAsync(RemainingOrDefault);
        var third = producer.AddAsync("c").AsTask();
        Assert.Equal(2ul, (await Aggregator.ExpectMsgAsync<AppendBatch>()).FirstOffset);
        Assert.False(third.IsCompleted, "b and c are unacknowledged");
    }

    /// <summary>
    /// A cancelled add throws only when it had not taken the item (<see cref="ListProducer.Added"/>
    /// unchanged): once the item is in a batch, a cancellation ends the wait for room, not the
    /// add. Otherwise a caller that adds the item again would add it twice, and a producer of
    /// the same id re-run on the same input would skip one item of it.
    /// </summary>
    [Fact]
    public async Task ListProducer_should_throw_on_cancellation_only_for_an_item_it_did_not_take()
    {
        // A batch per item, one unacknowledged at most.
        await using var client = Client(o => (o.MaxInFlight, o.BatchMaxItems) = (1, 1));
        await using var producer = client.List("orders").CreateProducer("p1");
        using var first = new CancellationTokenSource();
        var a = producer.AddAsync("a", first.Token).AsTask();
        await ResumeAtAsync(0);
        var sentA = await Aggregator.ExpectMsgAsync<AppendBatch>();
        var actor = Aggregator.LastSender;
        Assert.False(a.IsCompleted, "the add waits while the window is full");

        // a is in its batch, handed over: the cancelled wait ends the add, which took the item.
        await first.CancelAsync();
        await a.WaitAsync(RemainingOrDefault);
        using var second = new CancellationTokenSource();
        var b = producer.AddAsync("b", second.Token).AsTask(); // written into the open batch, which waits for room
        await second.CancelAsync();
        await b.WaitAsync(RemainingOrDefault);
        Assert.Equal(2ul, producer.Added);

        // c finds b's batch still waiting for room: cancelled before it is taken, it throws.
        using var third = new CancellationTokenSource();
        var c = producer.AddAsync("c", third.Token).AsTask();
        await third.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => c.WaitAsync(RemainingOrDefault));
        Assert.Equal(2ul, producer.Added);

        // Room again: b goes, then c, added again; each item once, in order.
        actor.Tell(Ack(sentA), Aggregator.Ref);
        var again = producer.AddAsync("c").AsTask();
        var sentB = await Aggregator.ExpectMsgAsync<AppendBatch>();
        actor.Tell(Ack(sentB), Aggregator.Ref);
        var sentC = await Aggregator.ExpectMsgAsync<AppendBatch>();
        actor.Tell(Ack(sentC), Aggregator.Ref);
        await again.WaitAsync(RemainingOrDefault);
        var result = await producer.FlushAsync().WaitAsync(RemainingOrDefault);
        Assert.Equal([(0ul, "a"), (1ul, "b"), (2ul, "c")],
            new[] { sentA, sentB, sentC }.Select(batch => (batch.FirstOffset, PackedItems.Decode(batch.Items.Span).Single())));
        Assert.Equal(3ul, result.Acknowledged);
    }

    /// <summary>
    /// A flush waits for acknowledgements for as long as the producer's own time-outs allow
    /// (minutes); when the client is disposed meanwhile, the flush ends at once, and says so.
    /// </summary>
    [Fact]
    public async Task ListProducer_should_end_a_flush_at_once_when_its_client_is_disposed()
    {
        var client = Client(_ => { });
        await using var producer = client.List("orders").CreateProducer("p1");
        var flushing = Task.Run(async () =>
        {
            await producer.AddAsync("a");
            return await producer.FlushAsync();
        });
        await ResumeAtAsync(0);
        await Aggregator.ExpectMsgAsync<AppendBatch>(); // never acknowledged

        await client.DisposeAsync();
        var stopped = await Assert.ThrowsAsync<ObjectDisposedException>(() => flushing.WaitAsync(RemainingOrDefault));
        Assert.Contains("the producer p1 of list 'orders' was stopped", stopped.Message);
    }

    [Fact]
    public async Task ListProducer_should_skip_what_the_list_holds_already_and_say_so()
    {
        await using var client = Client(_ => { });
        await using var producer = client.List("orders").CreateProducer("p1");
        var starting = producer.StartAsync();
        await ResumeAtAsync(2);
        Assert.Equal(2ul, await starting.WaitAsync(RemainingOrDefault));

        foreach (var item in new[] { "a", "b", "c", "d" })
        {
            await producer.AddAsync(item).AsTask().WaitAsync(RemainingOrDefault);
        }

        var flushing = producer.FlushAsync();
        var batch = await AckNextAsync();
        var result = await flushing.WaitAsync(RemainingOrDefault);

        Assert.Equal((2ul, 2u), (batch.FirstOffset, batch.Count));
        Assert.Equal(["c", "d"], PackedItems.Decode(batch.Items.Span));
        Assert.Equal((4ul, 2ul, 2ul), (result.Acknowledged, result.Appended, result.AlreadyStored));
        Assert.Equal((2ul, 4ul), (producer.AlreadyStored, producer.Added));
    }

    [Fact]
    public async Task ListProducer_should_refuse_an_item_over_the_limit_or_not_valid_unicode_without_sending_anything()
    {
        await using var client = Client(o => o.MaxItemBytes = 4);
        await using var producer = client.List("orders").CreateProducer("p1");

        var large = await Assert.ThrowsAsync<ArgumentException>(() => producer.AddAsync("ünïc").AsTask());
        var broken = await Assert.ThrowsAsync<ArgumentException>(() => producer.AddAsync("\ud800").AsTask());
        var bytes = await Assert.ThrowsAsync<ArgumentException>(() => producer.AddAsync(new byte[] { 0xC3, 0x28 }).AsTask());

        Assert.Equal("item 0 is 6 bytes; the limit is 4 bytes (Parameter 'item')", large.Message);
        Assert.StartsWith("item 0 is not valid Unicode", broken.Message);
        Assert.StartsWith("item 0 is not valid UTF-8", bytes.Message);
        Assert.Equal(0ul, producer.Added);

        // The producer goes on: its first batch holds the next good item alone, at offset 0.
        var flushing = Task.Run(async () =>
        {
            await producer.AddAsync("ok");
            return await producer.FlushAsync();
        });
        await ResumeAtAsync(0);
        var batch = await AckNextAsync();
        Assert.Equal(0ul, batch.FirstOffset);
        Assert.Equal(["ok"], PackedItems.Decode(batch.Items.Span));
        Assert.Equal(1ul, (await flushing.WaitAsync(RemainingOrDefault)).Acknowledged);
    }

    private AggregatorClient Client(Action<AggregatorClientOptions> change)
    {
        var options = new AggregatorClientOptions
        {
            ActorSystem = Sys,
            Contacts = Contact.ToString(),
            AckTimeout = TimeSpan.FromSeconds(30),
            Linger = TimeSpan.FromHours(1),
            TimeProvider = _time,
        };
        change(options);
        return AggregatorClient.Create(options);
    }

    private async Task ResumeAtAsync(ulong next)
    {
        var ask = await Aggregator.ExpectMsgAsync<GetResumePosition>();
        Aggregator.Reply(new ResumePosition { List = ask.List, Producer = ask.Producer, NextOffset = next });
    }

    /// <summary>The next batch, acknowledged as applied.</summary>
    private async Task<AppendBatch> AckNextAsync()
    {
        var batch = await Aggregator.ExpectMsgAsync<AppendBatch>();
        Aggregator.Reply(Ack(batch));
        return batch;
    }

    private static BatchAppended Ack(AppendBatch batch) => new()
    {
        List = batch.List,
        Producer = batch.Producer,
        FirstOffset = batch.FirstOffset,
        NextOffset = batch.FirstOffset + batch.Count,
        Applied = batch.Count,
    };
}
