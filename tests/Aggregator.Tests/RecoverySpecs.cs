using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Aggregator;
using Hosting;
using Microsoft.Data.Sqlite;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Tests;

/// <summary>
/// Lists journaled in a real SQLite database: a new incarnation of the lists actor
/// recovers the same items and producer positions from events, from snapshots, and
/// nothing after a delete.
/// </summary>
public sealed class RecoverySpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly string Directory = System.IO.Directory.CreateTempSubdirectory("recovery-specs").FullName;
    private readonly string _database;
    private int _generation;

    public RecoverySpecs(ITestOutputHelper output) : this(output, Path.Combine(Directory, $"{Guid.NewGuid():N}.db"))
    {
    }

    private RecoverySpecs(ITestOutputHelper output, string database) : base(Specs.Setup(DurableConfig(database)), "recovery-specs", output)
    {
        _database = database;
    }

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
    public async Task ListActor_should_recover_from_a_snapshot_and_the_events_after_it()
    {
        var settings = Specs.Lists with { Durable = true, SnapshotMinBytes = 1 };
        var lists = Start(settings);
        var expected = new List<string>();
        for (var batch = 0; batch < 20; batch++)
        {
            var items = Enumerable.Range(batch * 100, 100).Select(i => $"item-{i}").ToArray();
            await this.AppendAsync(lists, "snap", "w", (ulong)(batch * 100), items);
            expected.AddRange(items);
        }

        await AwaitAssertAsync(() => Assert.True(SnapshotRows("list-snap") > 0), TimeSpan.FromSeconds(10));
        lists = await RestartAsync(lists, settings);

        Assert.Equal(expected, await this.ReadListAsync(lists, "snap"));
        Assert.Equal(2000ul, await this.ResumeAsync(lists, "snap", "w"));
    }

    [Fact]
    public async Task ListActor_should_journal_each_full_segment_once_and_keep_its_snapshots_small_as_the_list_grows()
    {
        // 12-byte items, 13 packed: 78 to a 1 KiB segment. 2,000 items fill 25 segments.
        var settings = Specs.Lists with { Durable = true, SnapshotMinBytes = 1, SegmentBytes = 1024 };
        var lists = Start(settings);
        var expected = new List<string>();
        var snapshots = new List<ListSnapshot>();
        for (var batch = 0; batch < 40; batch++)
        {
            var items = Enumerable.Range(batch * 50, 50).Select(i => $"item-{i:D7}").ToArray();
            await this.AppendAsync(lists, "grows", "w", (ulong)(batch * 50), items);
            expected.AddRange(items);
            if (NewestSnapshotBytes("list-grows") is { } bytes)
            {
                snapshots.Add(ListSnapshot.Parser.ParseFrom(bytes));
            }
        }

        await AwaitAssertAsync(() => Assert.Equal(25, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = $id", "segments-grows")),
            TimeSpan.FromSeconds(10));

        // Snapshots are saved one at a time (SQLite sometimes takes a second or more for one
        // here, its writers waiting on each other); once one is saved, the next is taken if
        // events were written meanwhile. One more item, then the snapshots catch up with it.
        await this.AppendAsync(lists, "grows", "w", (ulong)expected.Count, "last");
        expected.Add("last");
        await AwaitAssertAsync(() =>
        {
            snapshots.Add(ListSnapshot.Parser.ParseFrom(NewestSnapshotBytes("list-grows")));
            Assert.Equal(2001ul, snapshots[^1].Count);
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));

        // Every snapshot holds what follows its journaled segments, a few segments at most (a
        // snapshot does not wait for seals in flight), never the list of up to 26 KB: the last
        // one, of every item, names 20 of the 25 segments at least.
        var trace = string.Join(" ", snapshots.Select(x => $"{x.Count}/{x.SealedSegments}/{x.Items.Length}"));
        Assert.All(snapshots, snapshot => Assert.InRange(snapshot.Items.Length, 0, 6 * 1024));
        Assert.True(snapshots[^1].SealedSegments >= 20, $"the last snapshot names {snapshots[^1].SealedSegments} segments: {trace}");
        Assert.All(snapshots, snapshot => Assert.Equal(snapshot.Count - snapshot.SealedItems, (ulong)PackedItems.Decode(snapshot.Items.Span).Count));

        lists = await RestartAsync(lists, settings);

        Assert.Equal(expected, await this.ReadListAsync(lists, "grows"));
        Assert.Equal((ulong)expected.Count, await this.ResumeAsync(lists, "grows", "w"));
        await this.AppendAsync(lists, "grows", "w", (ulong)expected.Count, "after-restart");
        lists = await RestartAsync(lists, settings);
        Assert.Equal([.. expected, "after-restart"], await this.ReadListAsync(lists, "grows"));
    }

    [Fact]
    public async Task ListActor_should_load_a_snapshot_of_the_whole_list_from_before_segments_and_go_on_in_segments()
    {
        // What an aggregator of the version before segments journaled: an event, a snapshot
        // holding every item, an event after it.
        var writer = Sys.ActorOf(Props.Create(() => new LegacyWriter("list-old")));
        var packed = PackedItems.Encode(["a0", "a1", "a2"]);
        writer.Tell(new ItemsAppended { Producer = "a", FirstOffset = 0, Count = 3, Items = packed, Incarnation = 7 }, TestActor);
        await ExpectMsgAsync("written");
        writer.Tell(new ListSnapshot
        {
            Count = 3, Items = packed, Incarnation = 7,
            Producers = { new ProducerPosition { Producer = "a", NextOffset = 3 } },
        }, TestActor);
        await ExpectMsgAsync("written");
        writer.Tell(new ItemsAppended { Producer = "a", FirstOffset = 3, Count = 1, Items = PackedItems.Encode(["a3"]), Incarnation = 7 }, TestActor);
        await ExpectMsgAsync("written");
        Watch(writer);
        Sys.Stop(writer);
        await ExpectTerminatedAsync(writer);

        var settings = Specs.Lists with { Durable = true, SnapshotMinBytes = 1, SegmentBytes = 1024 };
        var lists = Start(settings);
        Assert.Equal(["a0", "a1", "a2", "a3"], await this.ReadListAsync(lists, "old"));
        Assert.Equal(4ul, await this.ResumeAsync(lists, "old", "a"));
        var expected = new List<string> { "a0", "a1", "a2", "a3" };
        for (var batch = 0; batch < 4; batch++)
        {
            var items = Enumerable.Range(4 + batch * 50, 50).Select(i => $"item-{i:D7}").ToArray();
            await this.AppendAsync(lists, "old", "a", (ulong)expected.Count, items);
            expected.AddRange(items);
        }

        await AwaitAssertAsync(() => Assert.True(Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = $id", "segments-old") > 0),
            TimeSpan.FromSeconds(10));
        await this.AppendAsync(lists, "old", "a", (ulong)expected.Count, "last");
        expected.Add("last");
        await AwaitAssertAsync(() => Assert.True(ListSnapshot.Parser.ParseFrom(NewestSnapshotBytes("list-old")).SealedSegments > 0),
            TimeSpan.FromSeconds(10));
        lists = await RestartAsync(lists, settings);

        Assert.Equal(expected, await this.ReadListAsync(lists, "old"));
        Assert.Equal((ulong)expected.Count, await this.ResumeAsync(lists, "old", "a"));
    }

    [Fact]
    public async Task ListActor_should_stay_empty_after_a_delete_across_a_restart()
    {
        var settings = Specs.Lists with { Durable = true };
        var lists = Start(settings);
        await this.AppendAsync(lists, "gone", "w", 0, "x", "y");

        lists.Tell(new DeleteList { List = "gone" });
        Assert.True((await ExpectMsgAsync<ListDeleted>()).Existed);
        await this.AppendAsync(lists, "gone", "w", 0, "fresh");
        lists = await RestartAsync(lists, settings);

        Assert.Equal(["fresh"], await this.ReadListAsync(lists, "gone"));
        Assert.Equal(1ul, await this.ResumeAsync(lists, "gone", "w"));
    }

    [Fact]
    public async Task ListActor_should_leave_expired_producer_positions_out_of_its_snapshot()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new ManualClock(start);
        var settings = Specs.Lists with { Durable = true, SnapshotMinBytes = 1, ProducerRetention = TimeSpan.FromDays(7) };
        var lists = Start(settings, clock);
        await this.AppendAsync(lists, "aging", "old", 0, "o0");
        clock.Advance(TimeSpan.FromDays(8));
        await this.AppendAsync(lists, "aging", "new", 0, "n0");
        await AwaitAssertAsync(() => Assert.Equal(2, NewestSnapshot("list-aging")), TimeSpan.FromSeconds(10));

        // Back at the start, "old" would not have expired yet: it resumes at 0 only because
        // the snapshot no longer holds its position.
        clock.Set(start);
        lists = await RestartAsync(lists, settings, clock);

        Assert.Equal(0ul, await this.ResumeAsync(lists, "aging", "old"));
        Assert.Equal(1ul, await this.ResumeAsync(lists, "aging", "new"));
        Assert.Equal(["o0", "n0"], await this.ReadListAsync(lists, "aging"));
    }

    /// <remarks>
    /// The only spec configuration with <c>serialize-messages = off</c>: the SQL journal's own
    /// internal messages carry tasks and cannot be serialized. Our events and snapshots still
    /// pass through <see cref="ProtocolSerializer"/>, because that is how they reach SQLite.
    /// </remarks>
    /// <summary>The shipped aggregator.hocon's replay filter (Akka's default if it says none).</summary>
    private static string ShippedReplayFilter { get; } =
        HoconFile.Shipped("aggregator.hocon").Config.GetString("akka.persistence.journal.sql.replay-filter.mode", "repair-by-discard-old");

    private static Config DurableConfig(string database)
    {
        var connection = $"\"Data Source={database}\"";
        return ConfigurationFactory.ParseString($"""
            akka.actor.serialize-messages = off
            akka.persistence.journal.plugin = "akka.persistence.journal.sql"
            akka.persistence.journal.sql {'{'} provider-name = "SQLite.MS", connection-string = {connection}, parallelism = 1 {'}'}
            akka.persistence.journal.sql.replay-filter.mode = {ShippedReplayFilter}
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.sql"
            akka.persistence.snapshot-store.sql {'{'} provider-name = "SQLite.MS", connection-string = {connection} {'}'}
            """).WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
    }

    private IActorRef Start(ListSettings settings, TimeProvider? clock = null) =>
        Sys.ActorOf(ListsActor.Props(settings, clock: clock), $"lists-{++_generation}");

    private Task<IActorRef> RestartAsync(IActorRef lists, ListSettings settings, TimeProvider? clock = null) =>
        this.RestartAsync(lists, ListsActor.Props(settings, clock: clock), $"lists-{++_generation}");

    private async Task<(uint Applied, uint Duplicates)> AckAsync()
    {
        var ack = await ExpectMsgAsync<BatchAppended>();
        return (ack.Applied, ack.Duplicates);
    }

    /// <summary>
    /// In a cluster a list can move from node A to node B and back to A (a rebalance, then a
    /// failover). Akka.Persistence.Sql stores with every event the writer id of the node's
    /// journal, not of the list's actor, so the journal then holds A's events, B's, and A's
    /// again; Akka's replay filter, on by default, takes A's last events for an old writer's
    /// and drops them at recovery: acknowledged items gone. Here two actor systems on one
    /// database are the two nodes, with the shipped journal settings.
    /// </summary>
    [Fact]
    public async Task A_list_journaled_by_one_node_then_another_then_the_first_again_should_recover_every_event()
    {
        var settings = Specs.Lists with { Durable = true };
        var lists = Start(settings);
        await this.AppendAsync(lists, "moves", "p", 0, "a0", "a1");
        Watch(lists);
        lists.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(lists);

        var other = ActorSystem.Create(Sys.Name, Specs.Setup(DurableConfig(_database)));
        try
        {
            var ack = await other.ActorOf(ListsActor.Props(settings), "lists")
                .Ask<BatchAppended>(Specs.Batch("moves", "p", 2, "b0"), TimeSpan.FromSeconds(10));
            Assert.Equal(3ul, ack.NextOffset);
        }
        finally
        {
            await other.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }

        lists = Start(settings);
        await this.AppendAsync(lists, "moves", "p", 3, "a2");
        lists = await RestartAsync(lists, settings);

        Assert.Equal(["a0", "a1", "b0", "a2"], await this.ReadListAsync(lists, "moves"));
    }

    [Fact]
    public async Task The_journal_warm_up_should_write_its_one_event_at_the_first_start_and_only_read_it_after()
    {
        const string id = "aggregator-journal-warm-up";
        for (var start = 1; start <= 3; start++)
        {
            var warmUp = Watch(Sys.ActorOf(JournalWarmUp.Props()));
            await ExpectTerminatedAsync(warmUp);
            Assert.Equal(1, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = $id", id));
            Assert.Equal(1, Scalar("SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $id", id));
        }
    }

    /// <summary>Journals events and saves snapshots under a persistence id, as an older version would have; answers "written".</summary>
    private sealed class LegacyWriter : ReceivePersistentActor
    {
        private IActorRef? _requester;

        public LegacyWriter(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<ItemsAppended>(e => Persist(e, _ => Sender.Tell("written")));
            Command<ListSnapshot>(snapshot =>
            {
                _requester = Sender;
                SaveSnapshot(snapshot);
            });
            Command<SaveSnapshotSuccess>(_ => _requester!.Tell("written"));
        }

        public override string PersistenceId { get; }
    }

    private long NewestSnapshot(string persistenceId) =>
        Scalar("SELECT COALESCE(MAX(sequence_number), 0) FROM snapshot WHERE persistence_id = $id", persistenceId);

    /// <summary>The newest snapshot's bytes, or null if there is none.</summary>
    private byte[]? NewestSnapshotBytes(string persistenceId)
    {
        using var connection = new SqliteConnection($"Data Source={_database};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT snapshot FROM snapshot WHERE persistence_id = $id ORDER BY sequence_number DESC LIMIT 1";
        command.Parameters.AddWithValue("$id", persistenceId);
        return command.ExecuteScalar() as byte[];
    }

    private long SnapshotRows(string persistenceId) => Scalar("SELECT COUNT(*) FROM snapshot WHERE persistence_id = $id", persistenceId);

    private long Scalar(string sql, string persistenceId)
    {
        using var connection = new SqliteConnection($"Data Source={_database};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", persistenceId);
        return (long)command.ExecuteScalar()!;
    }
}
