using System.Diagnostics;
using Actors.Client;
using Akka.Actor;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Protocol;

namespace EndToEnd.Tests;

/// <summary>
/// The client library in this test process against real aggregator processes: what an
/// application sees. Every call is bounded by <see cref="Bound"/>'s token.
/// </summary>
public sealed class ClientLibraryTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("e2e-client").FullName;
    private readonly CancellationTokenSource _bound = new(TimeSpan.FromMinutes(2));
    private ServedAggregator _aggregator = null!;

    private CancellationToken Bound => _bound.Token;

    public async Task InitializeAsync() => _aggregator = await ServedAggregator.StartDurableAsync(Path.Combine(_directory, "data"));

    public async Task DisposeAsync()
    {
        await _aggregator.DisposeAsync();
        _bound.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task AppendAsync_should_store_items_that_read_count_and_stats_then_show()
    {
        await using var client = await ConnectAsync();
        var list = client.List("orders");

        var result = await list.AppendAsync(["a", "b", "ünï", ""], Bound);

        Assert.Equal((4ul, 4ul, 0ul), (result.Acknowledged, result.Appended, result.Duplicates));
        Assert.Equal(4ul, await list.CountAsync(Bound));
        Assert.Equal(["a", "b", "ünï", ""], await ReadAllAsync(list));
        Assert.Equal(["b", "ünï"], await list.ReadAsync(from: 1, count: 2, Bound).ToListAsync(Bound));
        var stats = await list.StatsAsync(Bound);
        Assert.Equal(("orders", 4ul, 1u), (stats.List, stats.Length, stats.Producers));
        var all = await client.StatsAsync(Bound);
        Assert.Equal(ProductVersion(), all.Version);
        Assert.Contains(all.Lists, l => l.List == "orders" && l.Length == 4);
    }

    [Fact]
    public async Task AppendAsync_calls_should_share_one_producer_go_on_after_a_delete_and_refuse_a_bad_item_whole()
    {
        await using var client = await ConnectAsync(o => o.MaxItemBytes = 10);
        var list = client.List("calls");
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(1ul, (await list.AppendAsync([$"c{i}"], Bound)).Appended);
        }

        var stats = await list.StatsAsync(Bound);
        Assert.Equal((50ul, 1u), (stats.Length, stats.Producers)); // one position for the client, not one per call

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => list.AppendAsync(["ok", new string('x', 11)], Bound));
        Assert.Contains("item 1 is 11 bytes; the limit is 10 bytes", refused.Message);
        Assert.Equal(50ul, await list.CountAsync(Bound)); // not even "ok"

        Assert.True(await list.DeleteAsync(Bound));
        Assert.DoesNotContain((await client.StatsAsync(Bound)).Lists, l => l.List == "calls"); // gone, though its actor has not stopped yet
        var fresh = await list.AppendAsync(["fresh"], Bound);
        Assert.Contains((await client.StatsAsync(Bound)).Lists, l => l.List == "calls"); // back, with the new item

        Assert.Equal((1ul, 1ul), (fresh.Acknowledged, fresh.Appended));
        Assert.Equal(["fresh"], await ReadAllAsync(list));
    }

    [Fact]
    public async Task A_producer_created_again_with_the_same_id_should_resume_after_what_the_list_holds()
    {
        var items = Enumerable.Range(0, 50_000).Select(i => $"item-{i}").ToArray();
        await using (var client = await ConnectAsync())
        {
            await using var first = client.List("resumed").CreateProducer("importer");
            foreach (var item in items.Take(20_000))
            {
                await first.AddAsync(item, Bound);
            }

            Assert.Equal(20_000ul, (await first.FlushAsync(Bound)).Acknowledged);
        }

        // A new client, as after a restart of the application's process: the same id, the same input from its start.
        await using (var client = await ConnectAsync())
        {
            await using var again = client.List("resumed").CreateProducer("importer");
            Assert.Equal(20_000ul, await again.StartAsync(Bound));
            foreach (var item in items)
            {
                await again.AddAsync(item, Bound);
            }

            var result = await again.FlushAsync(Bound);

            Assert.Equal((50_000ul, 30_000ul, 20_000ul, 0ul), (result.Acknowledged, result.Appended, result.AlreadyStored, result.Duplicates));
            Assert.Equal(items, await ReadAllAsync(client.List("resumed")));
        }
    }

    [Fact]
    public async Task FollowAsync_should_yield_items_as_they_come_and_end_quietly_when_cancelled()
    {
        await using var client = await ConnectAsync();
        var list = client.List("followed");
        await list.AppendAsync(["before"], Bound);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Bound);
        var seen = new List<ListItem>();
        var following = Task.Run(async () =>
        {
            await foreach (var item in list.FollowAsync(from: 0, stop.Token))
            {
                lock (seen)
                {
                    seen.Add(item);
                }
            }
        }, Bound);

        await list.AppendAsync(["x", "y"], Bound);
        await WaitUntilAsync(() => { lock (seen) { return seen.Count == 3; } }, "the follower to see 3 items");
        var clock = Stopwatch.StartNew();
        await stop.CancelAsync();
        await following.WaitAsync(TimeSpan.FromSeconds(5), Bound);

        Assert.True(following.IsCompletedSuccessfully, "cancelling ends the enumeration without an exception");
        Assert.Equal([new ListItem(0, "before"), new ListItem(1, "x"), new ListItem(2, "y")], seen);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5)); // not the 10 s follow-wait
    }

    [Fact]
    public async Task A_producer_should_fail_with_ListDeletedException_when_its_list_is_deleted_under_it()
    {
        await using var client = await ConnectAsync();
        var list = client.List("doomed");
        await using var producer = list.CreateProducer("p");
        foreach (var item in new[] { "a", "b", "c" })
        {
            await producer.AddAsync(item, Bound);
        }

        await producer.FlushAsync(Bound);
        Assert.True(await list.DeleteAsync(Bound));
        await producer.AddAsync("d", Bound);

        var deleted = await Assert.ThrowsAsync<ListDeletedException>(() => producer.FlushAsync(Bound));

        Assert.Equal(("doomed", 3ul, Protocol.Messages.Refusal.ListDeleted), (deleted.List, deleted.Acknowledged, deleted.Reason));
        await Assert.ThrowsAsync<ListDeletedException>(() => producer.AddAsync("e", Bound).AsTask()); // it stays failed
        Assert.Equal(0ul, await list.CountAsync(Bound));
    }

    [Fact]
    public async Task A_producer_should_finish_exactly_once_across_a_SIGKILL_of_its_aggregator()
    {
        var port = int.Parse(_aggregator.Endpoint[(_aggregator.Endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var items = Enumerable.Range(0, 300_000).Select(i => $"line-{i:D7}").ToArray();
        await using var client = await ConnectAsync(o => o.ConnectTimeout = TimeSpan.FromSeconds(60));
        await using var producer = client.List("killed").CreateProducer("p");
        foreach (var item in items.AsSpan(0, 149_000).ToArray())
        {
            await producer.AddAsync(item, Bound);
        }

        // The rest of the first half goes to an aggregator paused (SIGSTOP), so that it is in
        // flight, unacknowledged, when the aggregator dies (SIGKILL); the window is empty first,
        // so that these adds do not wait on it.
        await producer.FlushAsync(Bound);
        _aggregator.Process.Signal(19);
        foreach (var item in items.AsSpan(149_000, 1_000).ToArray())
        {
            await producer.AddAsync(item, Bound);
        }

        var beforeKill = await producer.ProgressAsync(Bound);
        Assert.True(beforeKill.Acknowledged < 150_000, $"{beforeKill.Acknowledged} of the first 150000 items acknowledged by a paused aggregator");
        await _aggregator.DisposeAsync();
        _aggregator = await ServedAggregator.StartDurableAsync(Path.Combine(_directory, "data"), port);
        foreach (var item in items.AsSpan(150_000).ToArray())
        {
            await producer.AddAsync(item, Bound);
        }

        var result = await producer.FlushAsync(Bound);

        Assert.Equal(300_000ul, result.Acknowledged);
        Assert.Equal(300_000ul, result.Appended + result.Duplicates);
        Assert.Equal(items, await ReadAllAsync(client.List("killed")));
    }

    [Fact]
    public async Task ConnectAsync_should_fail_with_unreachable_after_the_connect_timeout()
    {
        var nobody = $"127.0.0.1:{Executables.FreePort()}";
        var clock = Stopwatch.StartNew();

        var failed = await Assert.ThrowsAsync<AggregatorUnreachableException>(() => AggregatorClient.ConnectAsync(
            new AggregatorClientOptions { Contacts = nobody, ConnectTimeout = TimeSpan.FromSeconds(1) }, Bound));

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        Assert.Equal($"the aggregator at {nobody} did not answer within 1 s", failed.Message);
    }

    [Fact]
    public async Task The_client_should_run_in_an_applications_own_actor_system_on_Akka_Hosting()
    {
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(services => services.AddAkka("app", akka => akka
                .WithRemoting("127.0.0.1", 0)
                .WithCustomSerializer(ProtocolSerializer.Alias, ProtocolSerializer.BoundTypes, system => new ProtocolSerializer(system))))
            .Build();
        await host.StartAsync(Bound);
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            // Two clients on one system at once, each with its producer actors there.
            await using (var client = AggregatorClient.Create(new AggregatorClientOptions { Contacts = _aggregator.Endpoint, ActorSystem = system }))
            await using (var other = AggregatorClient.Create(new AggregatorClientOptions { Contacts = _aggregator.Endpoint, ActorSystem = system }))
            {
                await Task.WhenAll(
                    client.List("hosted").AppendAsync(["from", "the host"], Bound),
                    other.List("hosted-too").AppendAsync(["and", "its", "neighbour"], Bound));
                Assert.Equal(["from", "the host"], await ReadAllAsync(client.List("hosted")));
                Assert.Equal(["and", "its", "neighbour"], await ReadAllAsync(other.List("hosted-too")));
            }

            // Disposed, they leave no producer actor behind in the host's system.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (true)
            {
                var left = await system.ActorSelection("/user/producer-*").Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(1))
                    .ContinueWith(t => t.IsCompletedSuccessfully ? t.Result.Subject : null);
                if (left is null)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"{left.Path} still runs 10 s after its client was disposed");
                await Task.Delay(100);
            }

            // The client added a serializer for the wire's messages only, and left the host's system running.
            Assert.IsType<Akka.Serialization.NewtonSoftJsonSerializer>(system.Serialization.FindSerializerForType(typeof(HostMessage)));
            Assert.False(system.WhenTerminated.IsCompleted);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task The_client_should_run_beside_an_applications_actor_system_and_refuse_one_it_cannot_use()
    {
        using var local = ActorSystem.Create("app");
        var refused = Assert.Throws<ArgumentException>(() => AggregatorClient.Create(new AggregatorClientOptions { ActorSystem = local }));
        Assert.Contains("has no remoting", refused.Message);
        using var remote = ActorSystem.Create("app", "akka.actor.provider = remote\nakka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }");
        refused = Assert.Throws<ArgumentException>(() => AggregatorClient.Create(new AggregatorClientOptions { ActorSystem = remote }));
        Assert.Contains("does not bind Protocol.ProtocolSerializer", refused.Message);

        // Beside it: the client's own system, and the application's untouched.
        await using var client = await ConnectAsync();
        await client.List("beside").AppendAsync(["ok"], Bound);

        Assert.Equal(["ok"], await ReadAllAsync(client.List("beside")));
        Assert.IsType<Akka.Serialization.NewtonSoftJsonSerializer>(remote.Serialization.FindSerializerForType(typeof(HostMessage)));
    }

    private Task<AggregatorClient> ConnectAsync(Action<AggregatorClientOptions>? change = null)
    {
        var options = new AggregatorClientOptions { Contacts = _aggregator.Endpoint };
        change?.Invoke(options);
        return AggregatorClient.ConnectAsync(options, Bound);
    }

    private async Task<List<string>> ReadAllAsync(AggregatorList list) => await list.ReadAsync(cancellationToken: Bound).ToListAsync(Bound);

    private async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        while (!condition())
        {
            Assert.False(Bound.IsCancellationRequested, $"timed out waiting for {what}");
            await Task.Delay(20, Bound);
        }
    }

    private static string ProductVersion() =>
        typeof(AggregatorClient).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;

    /// <summary>A message of the application's own, serialized by its system's default serializer.</summary>
    private sealed record HostMessage(string Text);
}
