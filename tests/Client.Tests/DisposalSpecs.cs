using Akka.Actor;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Client.Tests;

/// <summary>
/// A client disposed while a read waits for the aggregator: the read ends at once with
/// <see cref="ObjectDisposedException"/>, rather than after its request time-outs (or never,
/// in an actor system that stopped and times nothing out any more).
/// </summary>
public sealed class DisposalSpecs(ITestOutputHelper output) : ScriptedAggregatorKit(output)
{
    private static readonly TimeSpan LongRequest = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_read_should_end_at_once_when_its_client_and_its_own_actor_system_are_disposed()
    {
        // No actor system given: the client starts its own, and disposing it stops that system.
        var client = AggregatorClient.Create(new AggregatorClientOptions { Contacts = Contact.ToString(), RequestTimeout = LongRequest });
        var counting = client.List("orders").CountAsync();
        await Aggregator.ExpectMsgAsync<GetLength>(); // never answered

        await client.DisposeAsync();
        var stopped = await Assert.ThrowsAsync<ObjectDisposedException>(() => counting.WaitAsync(RemainingOrDefault));
        Assert.Equal("the aggregator client was disposed, or its actor system stopped, while the request waited", stopped.Message);
    }

    [Fact]
    public async Task A_read_should_end_at_once_when_its_client_is_disposed_in_an_actor_system_that_goes_on()
    {
        var client = AggregatorClient.Create(new AggregatorClientOptions { ActorSystem = Sys, Contacts = Contact.ToString(), RequestTimeout = LongRequest });
        var counting = client.List("orders").CountAsync();
        await Aggregator.ExpectMsgAsync<GetLength>(); // never answered

        await client.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => counting.WaitAsync(RemainingOrDefault));

        // Disposed, it sends nothing more: a later read ends at once too.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.List("orders").CountAsync().WaitAsync(RemainingOrDefault));
        await Aggregator.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    /// <summary>
    /// Disposed in an actor system that goes on, a client starts no producer: an append or a
    /// producer's first add is refused with <see cref="ObjectDisposedException"/> (the producer's
    /// actor started and appended, and was never stopped), and no producer actor is left.
    /// </summary>
    [Fact]
    public async Task A_disposed_client_should_start_no_producer_in_an_actor_system_that_goes_on()
    {
        var client = AggregatorClient.Create(new AggregatorClientOptions { ActorSystem = Sys, Contacts = Contact.ToString() });
        await client.DisposeAsync();

        var append = await Assert.ThrowsAsync<ObjectDisposedException>(() => client.List("orders").AppendAsync(["a"]).WaitAsync(RemainingOrDefault));
        Assert.Contains("it starts no producer", append.Message);
        await using var producer = client.List("orders").CreateProducer("p1");
        await Assert.ThrowsAsync<ObjectDisposedException>(() => AddAndFlushAsync(producer).WaitAsync(RemainingOrDefault));

        await Aggregator.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        var found = await Sys.ActorSelection("/user/producer-*").Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(1))
            .ContinueWith(t => t.IsCompletedSuccessfully ? t.Result.Subject : null, TaskScheduler.Default);
        Assert.Null(found);
    }

    private static async Task AddAndFlushAsync(ListProducer producer)
    {
        await producer.AddAsync("a");
        await producer.FlushAsync();
    }
}
