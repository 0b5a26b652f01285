using Akka.Actor;
using Akka.Configuration;
using Aggregator.Lists;
using Aggregator.Storage;
using Akka.Persistence;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.Time.Testing;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// One writer per list, always: two actor systems on one database play two nodes that both
/// believe they hold a list, the first paused or cut off while the second took the list over.
/// Whatever the second did meanwhile (only loaded it, wrote to it, deleted it), the first
/// can never commit or acknowledge a write for the list again, and a recovery holds every
/// acknowledged item exactly once. On SQLite always, on PostgreSQL when a server is given.
/// </summary>
public sealed class FenceSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fence-specs").FullName;
    private readonly List<ActorSystem> _systems = [];

    public enum Takeover
    {
        /// <summary>The second node only loaded the list (a read): it has written nothing yet.</summary>
        Loaded,

        /// <summary>The second node appended to the list.</summary>
        Wrote,

        /// <summary>The second node deleted the list: no row of it is left to collide with.</summary>
        Deleted,
    }

    [Theory]
    [InlineData(Takeover.Loaded)]
    [InlineData(Takeover.Wrote)]
    [InlineData(Takeover.Deleted)]
    public Task A_replaced_writer_should_never_acknowledge_on_SQLite(Takeover takeover) =>
        RunAsync(takeover, $"Data Source={Path.Combine(_directory, "lists.db")}", "SQLite.MS");

    [PostgresTheory]
    [InlineData(Takeover.Loaded)]
    [InlineData(Takeover.Wrote)]
    [InlineData(Takeover.Deleted)]
    public Task A_replaced_writer_should_never_acknowledge_on_PostgreSQL(Takeover takeover) =>
        RunAsync(takeover, PostgresTheoryAttribute.ConnectionString!, "PostgreSQL.15");

    [Theory]
    [InlineData(Takeover.Loaded)]
    [InlineData(Takeover.Wrote)]
    [InlineData(Takeover.Deleted)]
    public Task A_replaced_holder_should_refuse_reads_once_its_proof_is_older_than_the_window_on_SQLite(Takeover takeover) =>
        ReadsAsync(takeover, $"Data Source={Path.Combine(_directory, "lists.db")}", "SQLite.MS");

    [PostgresTheory]
    [InlineData(Takeover.Loaded)]
    [InlineData(Takeover.Wrote)]
    [InlineData(Takeover.Deleted)]
    public Task A_replaced_holder_should_refuse_reads_once_its_proof_is_older_than_the_window_on_PostgreSQL(Takeover takeover) =>
        ReadsAsync(takeover, PostgresTheoryAttribute.ConnectionString!, "PostgreSQL.15");

    /// <summary>
    /// Reads as in a cluster (confirm-reads-after 1 s, on the first node's own clock): answered
    /// from the copy within a second of a write or a check, after it only once the journal
    /// confirms the node still holds the list; refused once another node took it over.
    /// </summary>
    private async Task ReadsAsync(Takeover takeover, string connection, string provider)
    {
        var list = $"reads-{Guid.NewGuid():N}"[..20];
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = Specs.Lists with { Durable = true, ConfirmReadsAfter = TimeSpan.FromSeconds(1) };
        var (first, second) = (Node("first", connection, provider, settings, clock), Node("second", connection, provider, settings));
        var (firstLists, secondLists) = (Specs.Entry(first), Specs.Entry(second));
        await Append(firstLists, list, "p", 0, "a0", "a1");

        // A write proved it a moment ago; two seconds later the journal is asked, and confirms.
        Assert.Equal(2ul, (await firstLists.Ask<Length>(new GetLength { List = list }, Timeout)).Count);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2ul, (await firstLists.Ask<Length>(new GetLength { List = list }, Timeout)).Count);

        var expected = await TakeOverAsync(takeover, secondLists, list);

        // Within the second after the check, the copy answers without asking: in a cluster no
        // other node can have started the list that soon (here one did, which the window hides).
        clock.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Equal(2ul, (await firstLists.Ask<Length>(new GetLength { List = list }, Timeout)).Count);

        // Past it, the journal says another node holds the list: refused, and the copy stops.
        clock.Advance(TimeSpan.FromMilliseconds(200));
        var refused = Assert.IsType<RequestRefused>(await firstLists.Ask<object>(new GetRange { List = list }, Timeout));
        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.Contains("this node no longer holds the list; ask again", refused.Message);

        // The next request on the first node loads the list again: what the second left, not the old copy.
        Assert.Equal(expected, await ReadAsync(firstLists, list));
        output.WriteLine($"{provider}, {takeover}: the replaced holder refused a read: {refused.Message}");
    }

    /// <param name="firstWrote">
    /// whether the first node had journaled anything of the list; when not, it only loaded it
    /// (a read), and its delete still goes through the journal's check.
    /// </param>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_replaced_holder_whose_delete_the_journal_refuses_should_stop_answering_from_its_copy(bool firstWrote)
    {
        var list = $"delete-{Guid.NewGuid():N}"[..20];
        var connection = $"Data Source={Path.Combine(_directory, "lists.db")}";
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = Specs.Lists with { Durable = true, ConfirmReadsAfter = TimeSpan.FromSeconds(1) };
        var first = Specs.Entry(Node("first", connection, "SQLite.MS", settings, clock));
        var second = Specs.Entry(Node("second", connection, "SQLite.MS", settings));
        List<string> expected;
        if (firstWrote)
        {
            await Append(first, list, "p", 0, "a0", "a1");
            expected = await TakeOverAsync(Takeover.Wrote, second, list);
        }
        else
        {
            Assert.Equal(0ul, (await first.Ask<Length>(new GetLength { List = list }, Timeout)).Count);
            Assert.Equal(1ul, (await Append(second, list, "q", 0, "b0")).NextOffset);
            expected = ["b0"];
        }

        var refused = Assert.IsType<RequestRefused>(await first.Ask<object>(new DeleteList { List = list }, Timeout));
        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.Contains("this node no longer holds the list", refused.Message);

        // Still within the window of its last proof, the first node answers from the journal, not from the copy it lost.
        Assert.Equal(expected, await ReadAsync(first, list));
    }

    [Fact]
    public async Task A_list_whose_journal_does_not_confirm_should_refuse_reads_in_time_and_keep_serving()
    {
        // Akka.Persistence.TestKit's journal journals but never answers a holder check (it is not ours).
        // Its behaviours are objects handed to the journal, so messages are not serialized here (JournalFaultSpecs).
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = Specs.Lists with
        {
            Durable = true,
            ConfirmReadsAfter = TimeSpan.FromSeconds(1),
            HolderCheckTimeout = TimeSpan.FromMilliseconds(500),
        };
        var system = Specs.System("unconfirmed", ConfigurationFactory.ParseString("akka.actor.serialize-messages = off").WithFallback(FaultyJournal.Config),
            settings, clock);
        _systems.Add(system);
        var lists = Specs.Entry(system);
        await Append(lists, "quiet", "p", 0, "a0");
        clock.Advance(TimeSpan.FromSeconds(2));

        var asked = System.Diagnostics.Stopwatch.StartNew();
        var refused = Assert.IsType<RequestRefused>(await lists.Ask<object>(new GetLength { List = "quiet" }, Timeout));
        var waited = asked.Elapsed;

        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.Contains("the journal did not answer within 0.5 s", refused.Message);
        Assert.InRange(waited, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(10));

        // The list still serves; its next write proves it holds the list, and reads are answered again.
        await Append(lists, "quiet", "p", 1, "a1");
        Assert.Equal(["a0", "a1"], await ReadAsync(lists, "quiet"));
    }

    [Fact]
    public async Task The_journal_should_count_only_the_last_actor_to_recover_a_list_here_as_its_holder()
    {
        // Two actors of one list on one node: the journal confirms only the last to recover it,
        // and only while it lives, whatever the database says.
        var system = Node("holders", $"Data Source={Path.Combine(_directory, "lists.db")}", "SQLite.MS");
        var journal = Persistence.Instance.Apply(system).JournalFor(null);
        var assertions = new XunitAssertions();
        var (older, newer, never) = (new TestProbe(system, assertions), new TestProbe(system, assertions),
            new TestProbe(system, assertions));
        const string id = "holders-list";

        async Task<object> Check(TestProbe actor, long started) =>
            await journal.Ask<object>(new ConfirmHolder(id, actor.Ref, started), Timeout);

        async Task Recover(TestProbe actor)
        {
            journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, id, actor.Ref));
            await actor.ExpectMsgAsync<RecoverySuccess>(Timeout);
        }

        Assert.Equal(new HolderReplaced(1), await Check(never, 1)); // never recovered here
        await Recover(older);
        Assert.Equal(new HolderConfirmed(2), await Check(older, 2));

        await Recover(newer);
        Assert.Equal(new HolderReplaced(3), await Check(older, 3));
        Assert.Equal(new HolderConfirmed(4), await Check(newer, 4));

        // Once the holder stops, no actor of this node holds the list until one recovers it again.
        system.Stop(newer.Ref);
        await older.AwaitAssertAsync(async () => Assert.Equal(new HolderReplaced(5), await Check(newer, 5)), Timeout);
        Assert.Equal(new HolderReplaced(6), await Check(older, 6));
    }

    private async Task RunAsync(Takeover takeover, string connection, string provider)
    {
        var list = $"fence-{Guid.NewGuid():N}"[..20];
        var (first, second) = (Node("first", connection, provider), Node("second", connection, provider));
        var (firstLists, secondLists) = (Specs.Entry(first), Specs.Entry(second));

        // The first node holds the list and writes to it.
        Assert.Equal(2ul, (await Append(firstLists, list, "p", 0, "a0", "a1")).NextOffset);

        // The second takes it over, as after a failover the first never noticed.
        var expected = await TakeOverAsync(takeover, secondLists, list);

        // The first wakes up with a batch for the list: refused, never acknowledged.
        var late = await firstLists.Ask<object>(Specs.Batch(list, "p", 2, "late"), Timeout);
        var refused = Assert.IsType<AppendRefused>(late);
        Assert.Equal(Refusal.Unavailable, refused.Reason);
        Assert.Contains("no longer holds the list", refused.Message);

        // A fresh node recovers exactly what was acknowledged.
        var third = Specs.Entry(Node("third", connection, provider));
        Assert.Equal(expected, await ReadAsync(third, list));
        output.WriteLine($"{provider}, {takeover}: the replaced writer was refused: {refused.Message}");
    }

    /// <summary>The second node takes over <paramref name="list"/>, which holds a0 and a1: returns what it holds after.</summary>
    private static async Task<List<string>> TakeOverAsync(Takeover takeover, IActorRef secondLists, string list)
    {
        switch (takeover)
        {
            case Takeover.Loaded:
                Assert.Equal(2ul, (await secondLists.Ask<Length>(new GetLength { List = list }, Timeout)).Count);
                return ["a0", "a1"];
            case Takeover.Wrote:
                Assert.Equal(1ul, (await Append(secondLists, list, "q", 0, "b0")).NextOffset);
                return ["a0", "a1", "b0"];
            default:
                Assert.True((await secondLists.Ask<ListDeleted>(new DeleteList { List = list }, Timeout)).Existed);
                return [];
        }
    }

    private static TimeSpan Timeout => TimeSpan.FromSeconds(15);

    private ActorSystem Node(string name, string connection, string provider, ListSettings? lists = null, TimeProvider? clock = null)
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka.persistence.journal.sql { provider-name = "{{provider}}", connection-string = "{{connection}}" }
            """).WithFallback(RecoverySpecs.DurableConfig(Path.Combine(_directory, "unused.db")));
        var system = Specs.System($"fence-{name}", config, lists ?? Specs.Lists with { Durable = true }, clock);
        _systems.Add(system);
        return system;
    }

    private static async Task<BatchAppended> Append(IActorRef lists, string list, string producer, ulong first, params string[] items) =>
        Assert.IsType<BatchAppended>(await lists.Ask<object>(Specs.Batch(list, producer, first, items), Timeout));

    private static async Task<List<string>> ReadAsync(IActorRef lists, string list)
    {
        var page = await lists.Ask<Protocol.Messages.Range>(new GetRange { List = list }, Timeout);
        return [.. Protocol.PackedItems.Decode(page.Items.Span)];
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_systems.Select(s => s.Terminate().WaitAsync(TimeSpan.FromSeconds(20))));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
