using Akka.Actor;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// One list's figures (<see cref="GetListStats"/>): a list deleted and not added to since says
/// so, so that stats can leave it out while its actor has not stopped; an empty list that was
/// never deleted (a read of an unused name started it) is shown as it is.
/// </summary>
/// <remarks>Durable lists on the lists' own journal, in an SQLite database of the spec's own.</remarks>
public sealed class ListStatsSpecs : Akka.TestKit.Xunit2.TestKit
{
    private readonly string _directory;

    public ListStatsSpecs(ITestOutputHelper output) : this(output, Directory.CreateTempSubdirectory("liststats-specs").FullName)
    {
    }

    private ListStatsSpecs(ITestOutputHelper output, string directory)
        : base(Specs.System("liststats-specs", RecoverySpecs.DurableConfig(Path.Combine(directory, "lists.db"))), output)
    {
        _directory = directory;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_list_should_say_it_was_deleted_until_something_is_added_to_it_again(bool durable)
    {
        var lists = Lists(durable);
        await this.AppendAsync(lists, "orders", "p", 0, "a", "b");
        Assert.Equal((2ul, 1u, false), await StatsAsync(lists, "orders"));

        lists.Tell(new DeleteList { List = "orders" });
        Assert.True((await ExpectMsgAsync<ListDeleted>()).Existed);
        Assert.Equal((0ul, 0u, true), await StatsAsync(lists, "orders"));
        lists.Tell(new GetLength { List = "orders" }); // a read adds nothing
        Assert.Equal(0ul, (await ExpectMsgAsync<Length>()).Count);
        Assert.Equal((0ul, 0u, true), await StatsAsync(lists, "orders"));

        await this.AppendAsync(lists, "orders", "q", 0, "c");
        Assert.Equal((1ul, 1u, false), await StatsAsync(lists, "orders"));

        // A producer that only asked where to resume has started the list again, with nothing in it.
        lists.Tell(new DeleteList { List = "orders" });
        await ExpectMsgAsync<ListDeleted>();
        Assert.Equal(0ul, await this.ResumeAsync(lists, "orders", "r"));
        Assert.False((await StatsAsync(lists, "orders")).Deleted);
    }

    [Fact]
    public async Task An_empty_list_never_deleted_should_not_say_it_was()
    {
        var lists = Lists(durable: true); // in memory, a read of an unused name starts no list
        lists.Tell(new GetLength { List = "unused" });
        Assert.Equal(0ul, (await ExpectMsgAsync<Length>()).Count);

        Assert.Equal((0ul, 0u, false), await StatsAsync(lists, "unused"));
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private IActorRef Lists(bool durable) =>
        Sys.ActorOf(Specs.ListsProps(Specs.Lists with { Durable = durable }));

    private async Task<(ulong Length, uint Producers, bool Deleted)> StatsAsync(IActorRef lists, string list)
    {
        lists.Tell(new GetListStats { List = list });
        var stats = await ExpectMsgAsync<ListStats>(m => m.List == list);
        return (stats.Length, stats.Producers, stats.Deleted);
    }
}
