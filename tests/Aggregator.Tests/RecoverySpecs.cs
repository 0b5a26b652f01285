using Microsoft.Extensions.Time.Testing;
using Aggregator.Storage;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// Lists journaled by the lists' own journal in a real SQLite database: a new incarnation of
/// the lists actor recovers the same items and producer positions from the events, each item
/// written once; nothing after a delete; a list that moved between nodes and back.
/// </summary>
public sealed class RecoverySpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly string Directory = System.IO.Directory.CreateTempSubdirectory("recovery-specs").FullName;
    private readonly string _database;
    private int _generation;

    public RecoverySpecs(ITestOutputHelper output) : this(output, Path.Combine(Directory, $"{Guid.NewGuid():N}.db"))
    {
    }

    private RecoverySpecs(ITestOutputHelper output, string database) : base(Specs.System("recovery-specs", DurableConfig(database)), output)
    {
        _database = database;
    }

    /// <summary>The lists' journal on an SQLite database of the spec's own.</summary>
    public static Config DurableConfig(string database) => ConfigurationFactory.ParseString($$"""
        akka.persistence.journal.plugin = "akka.persistence.journal.sql"
        akka.persistence.journal.sql {
          class = "{{typeof(ListJournal).FullName}}, Aggregator"
          plugin-dispatcher = "akka.actor.default-dispatcher"
          provider-name = "SQLite.MS"
          connection-string = "Data Source={{database}}"
        }
        akka.persistence.snapshot-store.plugin = "akka.persistence.no-snapshot-store"
        """);

    [Fact]
    public async Task ListActor_should_recover_items_and_producer_positions_from_its_events()
    {
        var lists = Start(Specs.Lists with { Durable = true });
        await this.AppendAsync(lists, "orders", "a", 0, "a0", "a1");
        await this.AppendAsync(lists, "orders", "b", 0, "b0");
        await this.AppendAsync(lists, "orders", "a", 2, "a2");

        lists = await RestartAsync(lists, Specs.Lists with { Durable = true });

        Assert.Equal(["a0", "a1", "b0", "a2"], await this.ReadListAsync(lists, "orders"));
        Assert.Equal(3ul, await this.ResumeAsync(lists, "orders", "a"));
        Assert.Equal(1ul, await this.ResumeAsync(lists, "orders", "b"));
        lists.Tell(Specs.Batch("orders", "a", 0, "a0", "a1", "a2"));
        Assert.Equal((0u, 3u), await AckAsync());
    }

    [Fact]
    public async Task ListActor_should_journal_each_item_once_and_recover_a_long_list_from_its_events()
    {
        var settings = Specs.Lists with { Durable = true, SegmentBytes = 4096 };
        var lists = Start(settings);
        var expected = new List<string>();
        for (var batch = 0; batch < 40; batch++)
        {
            // Every fourth batch is 2,000 items (24 KB): recovery keeps its array as a segment
            // (ItemLog.Adopt) between the copied small ones.
            var items = Enumerable.Range(expected.Count, batch % 4 == 3 ? 2000 : 50).Select(i => $"item-{i:D7}").ToArray();
            await this.AppendAsync(lists, "grows", "w", (ulong)expected.Count, items);
            expected.AddRange(items);
        }

        // One row an event, its items in their own column exactly once: nothing else holds them.
        Assert.Equal(40, Scalar("SELECT COUNT(*) FROM list_events WHERE persistence_id = $id", "list-grows"));
        Assert.Equal(PackedItems.Encode(expected).Length, Scalar("SELECT SUM(length(items)) FROM list_events WHERE persistence_id = $id", "list-grows"));
        Assert.Equal(0, Scalar("SELECT COUNT(*) FROM list_events WHERE persistence_id <> $id AND persistence_id LIKE '%grows%'", "list-grows"));

        lists = await RestartAsync(lists, settings);

        Assert.Equal(expected, await this.ReadListAsync(lists, "grows"));
        Assert.Equal((ulong)expected.Count, await this.ResumeAsync(lists, "grows", "w"));
        await this.AppendAsync(lists, "grows", "w", (ulong)expected.Count, "after-restart");
        lists = await RestartAsync(lists, settings);
        Assert.Equal([.. expected, "after-restart"], await this.ReadListAsync(lists, "grows"));
    }

    [Fact]
    public async Task ListActor_should_stay_empty_after_a_delete_across_a_restart_and_keep_its_sequence_numbers_going()
    {
        var settings = Specs.Lists with { Durable = true };
        var lists = Start(settings);
        await this.AppendAsync(lists, "gone", "w", 0, "x", "y");

        lists.Tell(new DeleteList { List = "gone" });
        Assert.True((await ExpectMsgAsync<ListDeleted>()).Existed);
        Assert.Equal(0, Scalar("SELECT COUNT(*) FROM list_events WHERE persistence_id = $id", "list-gone"));
        await this.AppendAsync(lists, "gone", "w", 0, "fresh");
        lists = await RestartAsync(lists, settings);

        Assert.Equal(["fresh"], await this.ReadListAsync(lists, "gone"));
        Assert.Equal(1ul, await this.ResumeAsync(lists, "gone", "w"));
        Assert.Equal(2, Scalar("SELECT MIN(sequence_nr) FROM list_events WHERE persistence_id = $id", "list-gone"));
    }

    [Fact]
    public async Task ListActor_should_hand_out_its_incarnation_before_the_first_item_and_keep_it_across_a_restart()
    {
        var settings = Specs.Lists with { Durable = true };
        var lists = Start(settings);
        lists.Tell(new GetResumePosition { List = "early", Producer = "p" }, TestActor);
        var incarnation = (await ExpectMsgAsync<ResumePosition>()).Incarnation;
        Assert.NotEqual(0ul, incarnation);

        lists = await RestartAsync(lists, settings);
        var batch = Specs.Batch("early", "p", 0, "first");
        batch.Incarnation = incarnation;
        lists.Tell(batch, TestActor);

        Assert.Equal(incarnation, (await ExpectMsgAsync<BatchAppended>()).Incarnation);
        Assert.Equal(["first"], await this.ReadListAsync(lists, "early"));
    }

    [Fact]
    public async Task ListActor_should_forget_expired_producer_positions_across_a_restart()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(start);
        var settings = Specs.Lists with { Durable = true, ProducerRetention = TimeSpan.FromDays(7) };
        var lists = Start(settings, clock);
        await this.AppendAsync(lists, "aging", "old", 0, "o0");
        clock.Advance(TimeSpan.FromDays(8));
        await this.AppendAsync(lists, "aging", "new", 0, "n0");

        lists = await RestartAsync(lists, settings, clock);

        Assert.Equal(0ul, await this.ResumeAsync(lists, "aging", "old"));
        Assert.Equal(1ul, await this.ResumeAsync(lists, "aging", "new"));
        Assert.Equal(["o0", "n0"], await this.ReadListAsync(lists, "aging"));
    }

    /// <summary>
    /// In a cluster a list can move from node A to node B and back to A (a rebalance, then a
    /// failover). Each move is a new recovery, and a new epoch: every event of every writer
    /// in turn is recovered. Two actor systems on one database are the two nodes.
    /// </summary>
    [Fact]
    public async Task A_list_journaled_by_one_node_then_another_then_the_first_again_should_recover_every_event()
    {
        var settings = Specs.Lists with { Durable = true };
        var lists = Start(settings);
        await this.AppendAsync(lists, "moves", "p", 0, "a0", "a1");
        await StopAsync(lists);

        var ack = await InAnotherSystemAsync(settings, other => Specs.Entry(other)
            .Ask<BatchAppended>(Specs.Batch("moves", "p", 2, "b0"), TimeSpan.FromSeconds(10)));
        Assert.Equal(3ul, ack.NextOffset);

        lists = Start(settings);
        await this.AppendAsync(lists, "moves", "p", 3, "a2");
        lists = await RestartAsync(lists, settings);

        Assert.Equal(["a0", "a1", "b0", "a2"], await this.ReadListAsync(lists, "moves"));
    }

    /// <summary>
    /// A recovery that takes longer than <see cref="ListSettings.RecoveryProgressEvery"/> says
    /// how far it got, in the log: with no interval after every event, with the default on a
    /// clock that does not move, never.
    /// </summary>
    [Fact]
    public async Task ListActor_should_log_how_far_a_long_recovery_got()
    {
        var settings = Specs.Lists with { Durable = true };
        var lists = Start(settings);
        await this.AppendAsync(lists, "long", "p", 0, "a0", "a1");
        await this.AppendAsync(lists, "long", "p", 2, "a2");
        await this.AppendAsync(lists, "long", "q", 0, "b0", "b1");
        await StopAsync(lists);

        Assert.Equal(
            ["Recovering list long: 2 items (6 bytes), 1 events so far", "Recovering list long: 3 items (9 bytes), 2 events so far",
             "Recovering list long: 5 items (15 bytes), 3 events so far"],
            await RecoveryLinesAsync(settings with { RecoveryProgressEvery = TimeSpan.Zero }, clock: null));
        Assert.Empty(await RecoveryLinesAsync(settings, new FakeTimeProvider(DateTimeOffset.UtcNow)));
    }

    /// <summary>Recovers list "long" in a system of its own that logs at INFO: the progress lines it logged, without their time.</summary>
    private Task<List<string>> RecoveryLinesAsync(ListSettings settings, TimeProvider? clock) =>
        InAnotherSystemAsync(settings, async other =>
        {
            var log = new Akka.TestKit.TestProbe(other, new Akka.TestKit.Xunit2.XunitAssertions());
            other.EventStream.Subscribe(log.Ref, typeof(Akka.Event.Info));
            Assert.Equal(5ul, (await Specs.Entry(other).Ask<Length>(new GetLength { List = "long" }, TimeSpan.FromSeconds(10))).Count);

            var lines = new List<string>();
            await log.FishForMessageAsync(m =>
            {
                var text = ((Akka.Event.Info)m).Message.ToString()!;
                if (text.StartsWith("Recovering list long: ", StringComparison.Ordinal))
                {
                    lines.Add(text[..text.LastIndexOf(',')]);
                }

                return text.StartsWith("Recovered list long: ", StringComparison.Ordinal);
            }, TimeSpan.FromSeconds(10));
            return lines;
        }, ConfigurationFactory.ParseString("akka.loglevel = INFO"), clock);

    /// <summary>
    /// load-lists-at-start: a new lists actor loads every list that has events (a deleted one
    /// has none) before any request names it, so stats show them at once; max-lists bounds it.
    /// </summary>
    [Fact]
    public async Task LocalLists_should_load_every_journaled_list_at_start_up_to_max_lists()
    {
        var settings = Specs.Lists with { Durable = true };
        var lists = Start(settings);
        await this.AppendAsync(lists, "alpha", "w", 0, "a0", "a1");
        await this.AppendAsync(lists, "beta", "w", 0, "b0");
        await this.AppendAsync(lists, "gone", "w", 0, "g0");
        lists.Tell(new DeleteList { List = "gone" });
        await ExpectMsgAsync<ListDeleted>();
        Sys.EventStream.Subscribe(TestActor, typeof(ListsLoaded));

        lists = await RestartAsync(lists, settings with { LoadAtStart = true });
        Assert.Equal(new ListsLoaded(2, 0), await ExpectMsgAsync<ListsLoaded>());
        Assert.Equal(["alpha:2", "beta:1"], await LoadedListsAsync(lists));
        Assert.Equal(["a0", "a1"], await this.ReadListAsync(lists, "alpha"));

        lists = await RestartAsync(lists, settings with { LoadAtStart = true, MaxLists = 1 });
        Assert.Equal(new ListsLoaded(1, 0), await ExpectMsgAsync<ListsLoaded>());
        Assert.Equal(["alpha:2"], await LoadedListsAsync(lists));
    }

    /// <summary>The lists the lists actor holds now, as name:length, from its stats.</summary>
    private async Task<List<string>> LoadedListsAsync(IActorRef lists)
    {
        lists.Tell(new GetStats(), TestActor);
        var stats = await ExpectMsgAsync<Stats>();
        return stats.Lists.Select(list => $"{list.List}:{list.Length}").ToList();
    }

    [Fact]
    public async Task The_journal_warm_up_should_write_its_one_event_at_the_first_start_and_only_read_it_after()
    {
        const string id = "aggregator-journal-warm-up";
        for (var start = 1; start <= 3; start++)
        {
            var warmUp = Watch(Sys.ActorOf(JournalWarmUp.Props()));
            await ExpectTerminatedAsync(warmUp);
            Assert.Equal(1, Scalar("SELECT COUNT(*) FROM list_events WHERE persistence_id = $id", id));
            Assert.Equal(1, Scalar("SELECT MAX(sequence_nr) FROM list_events WHERE persistence_id = $id", id));
        }
    }

    /// <summary>Stops a lists actor, and its lists with it, and waits until it has.</summary>
    private async Task StopAsync(IActorRef lists)
    {
        Watch(lists);
        lists.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(lists);
    }

    /// <summary>
    /// <paramref name="body"/> in a second actor system on the spec's database (another node, or
    /// a later run), with <paramref name="config"/> in front; the system is terminated after.
    /// </summary>
    private async Task<T> InAnotherSystemAsync<T>(ListSettings settings, Func<ActorSystem, Task<T>> body, Config? config = null,
        TimeProvider? clock = null)
    {
        var other = Specs.System(Sys.Name, (config ?? ConfigurationFactory.Empty).WithFallback(DurableConfig(_database)), settings, clock);
        try
        {
            return await body(other);
        }
        finally
        {
            await other.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    private IActorRef Start(ListSettings settings, TimeProvider? clock = null) =>
        Sys.ActorOf(Specs.ListsProps(settings, clock), $"lists-{++_generation}");

    private Task<IActorRef> RestartAsync(IActorRef lists, ListSettings settings, TimeProvider? clock = null) =>
        this.RestartAsync(lists, Specs.ListsProps(settings, clock), $"lists-{++_generation}");

    private async Task<(uint Applied, uint Duplicates)> AckAsync()
    {
        var ack = await ExpectMsgAsync<BatchAppended>();
        return (ack.Applied, ack.Duplicates);
    }

    private long Scalar(string sql, string persistenceId)
    {
        using var connection = new SqliteConnection($"Data Source={_database};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", persistenceId);
        return command.ExecuteScalar() is long value ? value : 0;
    }
}
