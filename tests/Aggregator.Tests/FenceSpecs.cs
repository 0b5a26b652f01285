using Akka.Actor;
using Akka.Configuration;
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

    private async Task RunAsync(Takeover takeover, string connection, string provider)
    {
        var list = $"fence-{Guid.NewGuid():N}"[..20];
        var (first, second) = (Node("first", connection, provider), Node("second", connection, provider));
        var (firstLists, secondLists) = (Specs.Entry(first), Specs.Entry(second));

        // The first node holds the list and writes to it.
        Assert.Equal(2ul, (await Append(firstLists, list, "p", 0, "a0", "a1")).NextOffset);

        // The second takes it over, as after a failover the first never noticed.
        var expected = new List<string> { "a0", "a1" };
        switch (takeover)
        {
            case Takeover.Loaded:
                Assert.Equal(2ul, (await secondLists.Ask<Length>(new GetLength { List = list }, Timeout)).Count);
                break;
            case Takeover.Wrote:
                Assert.Equal(1ul, (await Append(secondLists, list, "q", 0, "b0")).NextOffset);
                expected.Add("b0");
                break;
            case Takeover.Deleted:
                Assert.True((await secondLists.Ask<ListDeleted>(new DeleteList { List = list }, Timeout)).Existed);
                expected.Clear();
                break;
        }

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

    private static TimeSpan Timeout => TimeSpan.FromSeconds(15);

    private ActorSystem Node(string name, string connection, string provider)
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka.persistence.journal.sql { provider-name = "{{provider}}", connection-string = "{{connection}}" }
            """).WithFallback(RecoverySpecs.DurableConfig(Path.Combine(_directory, "unused.db")));
        var system = Specs.System($"fence-{name}", config, Specs.Lists with { Durable = true });
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

/// <summary>A theory that needs a PostgreSQL server: skipped, saying how to run it, when none is given.</summary>
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public const string Variable = "ACTORS_TEST_POSTGRES";

    public PostgresTheoryAttribute()
    {
        if (ConnectionString is null)
        {
            Skip = $"no PostgreSQL server: set {Variable} to an Npgsql connection string; to run it: {Variable}=$(.ci/postgres start /tmp/actors-pg 54329) dotnet test (.ci/run does)";
        }
    }

    public static string? ConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value ? value : null;
}
