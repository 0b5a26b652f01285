using System.Collections.Immutable;
using Aggregator.Storage;
using Akka.Actor;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// The lists' journal below the actors: the store's fence, sequence numbers that survive a
/// delete, replay in order with items apart; and the codec, which never lets a rejected event
/// leave a hole before a later one of the same write.
/// </summary>
public sealed class JournalSpecs(ITestOutputHelper output) : TestKit(Specs.System("journal-specs"), output)
{
    private readonly string _database = Path.Combine(Directory.CreateTempSubdirectory("journal-specs").FullName, "lists.db");

    [Fact]
    public async Task JournalStore_should_fence_every_write_and_delete_of_an_epoch_a_newer_claim_replaced()
    {
        await using var store = await OpenAsync();
        var (first, highest) = await store.ClaimAsync("list-a", default);
        Assert.Equal((1L, 0L), (first, highest));
        Assert.Empty(await store.WriteAsync([Write("list-a", first, 1, 2)], default));

        var (second, seen) = await store.ClaimAsync("list-a", default);
        Assert.Equal((2L, 2L), (second, seen));

        Assert.Equal(["list-a"], await store.WriteAsync([Write("list-a", first, 3)], default));
        Assert.False(await store.DeleteToAsync("list-a", first, long.MaxValue, default));
        Assert.Empty(await store.WriteAsync([Write("list-a", second, 3)], default));
        Assert.Equal([1L, 2L, 3L], await SequenceNumbersAsync(store, "list-a"));
    }

    [Fact]
    public async Task JournalStore_should_write_the_other_lists_of_a_transaction_when_one_is_fenced()
    {
        await using var store = await OpenAsync();
        var (a, _) = await store.ClaimAsync("list-a", default);
        var (b, _) = await store.ClaimAsync("list-b", default);
        await store.ClaimAsync("list-a", default); // a newer writer of list-a elsewhere

        var fenced = await store.WriteAsync([Write("list-a", a, 1), Write("list-b", b, 1, 2)], default);

        Assert.Equal(["list-a"], fenced);
        Assert.Empty(await SequenceNumbersAsync(store, "list-a"));
        Assert.Equal([1L, 2L], await SequenceNumbersAsync(store, "list-b"));
    }

    [Fact]
    public async Task JournalStore_should_keep_the_highest_sequence_number_across_a_delete_and_refuse_it_again()
    {
        await using var store = await OpenAsync();
        var (epoch, _) = await store.ClaimAsync("list-d", default);
        await store.WriteAsync([Write("list-d", epoch, 1, 2, 3)], default);

        Assert.True(await store.DeleteToAsync("list-d", epoch, 3, default));
        Assert.Empty(await SequenceNumbersAsync(store, "list-d"));
        var (again, highest) = await store.ClaimAsync("list-d", default);

        Assert.Equal(3L, highest);
        Assert.Equal(["list-d"], await store.WriteAsync([Write("list-d", again, 2)], default)); // below the highest: never reused
        Assert.Empty(await store.WriteAsync([Write("list-d", again, 4)], default));
    }

    [Fact]
    public async Task JournalStore_should_replay_in_order_with_an_events_items_in_their_own_array()
    {
        await using var store = await OpenAsync();
        var (epoch, _) = await store.ClaimAsync("list-r", default);
        var items = PackedItems.Encode(["x", "y"]).ToByteArray();
        await store.WriteAsync([new JournalWrite("list-r", epoch,
            [new JournalRow(1, 7, "m", [1, 2], items), new JournalRow(2, 7, "m", [3], null)])], default);

        var rows = new List<JournalRow>();
        await store.ReplayAsync("list-r", 1, long.MaxValue, long.MaxValue, rows.Add, default);

        Assert.Equal([1L, 2L], rows.Select(r => r.SequenceNr));
        Assert.Equal(items, rows[0].Items);
        Assert.Null(rows[1].Items);
        Assert.Equal([1, 2], rows[0].Payload);
    }

    /// <summary>
    /// A write whose second event cannot be serialized: that one and the third (same actor,
    /// after it) are rejected, the first written. Had the third been written, a recovery
    /// would meet a hole where the second should be.
    /// </summary>
    [Fact]
    public void JournalCodec_should_reject_every_event_after_a_rejected_one_of_the_same_write()
    {
        var codec = new JournalCodec(Sys.Serialization);
        var probe = CreateTestProbe();
        var events = new object[]
        {
            new ItemsAppended { Producer = "p", FirstOffset = 0, Count = 1, Items = PackedItems.Encode(["a"]) },
            new Unserializable(),
            new ItemsAppended { Producer = "p", FirstOffset = 1, Count = 1, Items = PackedItems.Encode(["b"]) },
        };
        var writes = events.Select((payload, i) => (IPersistentEnvelope)new AtomicWrite(
            new Persistent(payload, i + 1, "list-h", writerGuid: "w", sender: ActorRefs.NoSender))).ToImmutableList();

        var prepared = codec.Prepare(new WriteMessages(writes, probe.Ref, 1), _ => 1);
        prepared.Reply(fenced: null, failure: null);

        var rows = Assert.Single(prepared.Writes).Rows;
        Assert.Equal([1L], rows.Select(r => r.SequenceNr));
        Assert.Equal(["list-h"], prepared.Rejected); // the journal fences the id's later writes (ListJournal)
        probe.ExpectMsg<WriteMessagesSuccessful>();
        Assert.Equal(1L, probe.ExpectMsg<WriteMessageSuccess>().Persistent.SequenceNr);
        Assert.Equal(2L, probe.ExpectMsg<WriteMessageRejected>().Persistent.SequenceNr);
        Assert.Equal(3L, probe.ExpectMsg<WriteMessageRejected>().Persistent.SequenceNr);
    }

    /// <summary>
    /// What load-lists-at-start asks: the ids that hold events, in order, a deleted one and one
    /// only claimed not among them; and only ids that truly start with the prefix, though LIKE takes its "_"
    /// for any character. Items come back whole. On SQLite, and on PostgreSQL when given.
    /// </summary>
    [Fact]
    public Task JournalStore_should_name_the_ids_that_hold_events_and_read_their_items_whole_on_SQLite() =>
        IdsAndItemsAsync("SQLite.MS", $"Data Source={_database}");

    [PostgresTheory]
    [InlineData("PostgreSQL.15")]
    public Task JournalStore_should_name_the_ids_that_hold_events_and_read_their_items_whole_on_PostgreSQL(string provider) =>
        IdsAndItemsAsync(provider, PostgresTheoryAttribute.ConnectionString!);

    private static async Task IdsAndItemsAsync(string provider, string connection)
    {
        await using var store = JournalStore.Create(provider, connection);
        await store.InitializeAsync(default);
        var run = $"ids{Guid.NewGuid():N}"[..12];
        var items = PackedItems.Encode(Enumerable.Range(0, 30_000).Select(i => $"item-{i:D6}"));
        foreach (var id in new[] { "b", "a", "x_y", "xzy", "deleted" }.Select(name => $"{run}-{name}").Append($"other-{run}"))
        {
            var (epoch, _) = await store.ClaimAsync(id, default);
            await store.WriteAsync([new(id, epoch, [new JournalRow(1, 7, "m", [0], items.ToByteArray())])], default);
            if (id.EndsWith("deleted", StringComparison.Ordinal))
            {
                Assert.True(await store.DeleteToAsync(id, epoch, 1, default));
            }
        }

        await store.ClaimAsync($"{run}-claimed", default); // recovered once, never written: no events

        Assert.Equal([$"{run}-a", $"{run}-b", $"{run}-x_y", $"{run}-xzy"], await store.PersistenceIdsAsync($"{run}-", default));
        Assert.Equal([$"{run}-x_y"], await store.PersistenceIdsAsync($"{run}-x_", default));
        var read = new List<JournalRow>();
        await store.ReplayAsync($"{run}-a", 1, long.MaxValue, long.MaxValue, read.Add, default);
        Assert.Equal(items.ToByteArray(), Assert.Single(read).Items);
    }

    protected override void AfterAll()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Path.GetDirectoryName(_database)!, recursive: true);
        base.AfterAll();
    }

    private async Task<JournalStore> OpenAsync()
    {
        var store = JournalStore.Create("SQLite.MS", $"Data Source={_database}");
        await store.InitializeAsync(default);
        return store;
    }

    private static JournalWrite Write(string id, long epoch, params long[] sequenceNrs) =>
        new(id, epoch, sequenceNrs.Select(n => new JournalRow(n, 7, "m", [0], null)).ToList());

    private static async Task<List<long>> SequenceNumbersAsync(JournalStore store, string id)
    {
        var rows = new List<long>();
        await store.ReplayAsync(id, 1, long.MaxValue, long.MaxValue, row => rows.Add(row.SequenceNr), default);
        return rows;
    }

    /// <summary>A payload no serializer can write: reading it throws.</summary>
    private sealed class Unserializable
    {
        public int Value => throw new InvalidOperationException("this payload cannot be read");
    }
}
