using Actors.Client;

namespace EndToEnd.Tests;

/// <summary>The client library against a cluster: what an application sees when a node is lost under it.</summary>
public sealed partial class ClusterTests
{
    /// <summary>
    /// A producer in this process whose first contact is the node that holds its list; that
    /// node is SIGKILLed with batches in flight. The producer finds the next contact, the list
    /// resumes on another node, and every item is in it once, in order.
    /// </summary>
    [PostgresFact]
    public async Task A_library_producer_should_finish_exactly_once_when_its_contact_and_lists_node_is_SIGKILLed()
    {
        await using var cluster = await TestCluster.StartAsync(Config(), output);
        var placed = await cluster.PlaceListsAsync(Enumerable.Range(0, 100).Select(i => $"lib{Guid.NewGuid():N}"[..12] + i), 1,
            Enumerable.Range(0, 3).First(n => n != cluster.Oldest()));
        var (name, victim) = placed.First();
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var items = Enumerable.Range(0, 200_000).Select(i => $"item-{i:D7}").ToArray();
        await using var client = await AggregatorClient.ConnectAsync(
            new AggregatorClientOptions
            {
                Contacts = cluster.ContactsFrom(victim),
                ConnectTimeout = TimeSpan.FromSeconds(60),
                RequestTimeout = TimeSpan.FromSeconds(30),
            }, bound.Token);
        var victimEndpoint = cluster[victim]!.Endpoint;
        Assert.Equal(victimEndpoint, client.Endpoint);
        await using var producer = client.List(name).CreateProducer("lib");
        foreach (var item in items.AsSpan(0, 99_000).ToArray())
        {
            await producer.AddAsync(item, bound.Token);
        }

        // The victim is paused (SIGSTOP) for the first half's last items: they are in flight,
        // unacknowledged, when it dies (SIGKILL); the window is empty first, so that these adds
        // do not wait on it.
        await producer.FlushAsync(bound.Token);
        cluster[victim]!.Process.Signal(19);
        foreach (var item in items.AsSpan(99_000, 1_000).ToArray())
        {
            await producer.AddAsync(item, bound.Token);
        }

        var beforeKill = await producer.ProgressAsync(bound.Token);
        Assert.True(beforeKill.Acknowledged < 100_000, $"{beforeKill.Acknowledged} of the first 100000 items acknowledged by a paused node");
        await cluster.KillAsync(victim);
        foreach (var item in items.AsSpan(100_000).ToArray())
        {
            await producer.AddAsync(item, bound.Token);
        }

        var result = await producer.FlushAsync(bound.Token);

        output.WriteLine($"appends paused for up to {result.LongestAckWait.TotalSeconds:0.0} s across the SIGKILL");
        Assert.Equal(200_000ul, result.Acknowledged);
        Assert.Equal(200_000ul, result.Appended + result.Duplicates);

        // Requests know the contact is gone (Akka's watch said so): none waits out its 30 s time-out.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(200_000ul, await client.List(name).CountAsync(bound.Token));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));
        Assert.NotEqual(victimEndpoint, client.Endpoint);
        Assert.Equal(items, await client.List(name).ReadAsync(cancellationToken: bound.Token).ToListAsync(bound.Token));
        Assert.NotEqual(victim, (await cluster.WhereAsync([name]))[name]);
    }
}
