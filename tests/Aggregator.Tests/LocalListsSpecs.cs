using Akka.Actor;
using Aggregator;
using Google.Protobuf;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Tests;

/// <summary>The lists actor: routing by name, names, the list limit, passivation of empty lists.</summary>
public sealed class LocalListsSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ListSettings Settings = Specs.SmallLists;

    private readonly IActorRef _lists;

    public LocalListsSpecs(ITestOutputHelper output) : base(Specs.System("local-lists-specs", lists: Settings), output)
    {
        _lists = Specs.Entry(Sys); // the production /user/lists, with the settings above
    }

    [Fact]
    public async Task LocalLists_should_keep_named_lists_apart_and_answer_unknown_lists_as_empty()
    {
        _lists.Tell(Specs.Batch("one", "w", 0, "1"));
        _lists.Tell(Specs.Batch("two", "w", 0, "2a", "2b"));
        await ExpectAcksAsync(2);

        Assert.Equal(["1"], await ReadAllAsync("one"));
        Assert.Equal(["2a", "2b"], await ReadAllAsync("two"));
        _lists.Tell(new GetLength { List = "three" });
        Assert.Equal(0ul, (await ExpectMsgAsync<Length>()).Count);
        _lists.Tell(new GetLength { List = "two" });
        Assert.Equal(2ul, (await ExpectMsgAsync<Length>()).Count);
    }

    [Fact]
    public async Task LocalLists_should_refuse_invalid_names()
    {
        _lists.Tell(Specs.Batch("bad/name", "w", 0, "x"));
        Assert.Equal(Refusal.InvalidName, (await ExpectMsgAsync<AppendRefused>()).Reason);

        _lists.Tell(Specs.Batch("orders", "bad id", 0, "x"));
        Assert.Equal(Refusal.InvalidName, (await ExpectMsgAsync<AppendRefused>()).Reason);

        _lists.Tell(new GetLength { List = "" });
        Assert.Equal(Refusal.InvalidName, (await ExpectMsgAsync<RequestRefused>()).Reason);
    }

    [Fact]
    public async Task LocalLists_should_refuse_a_list_over_the_list_limit()
    {
        foreach (var name in new[] { "l1", "l2", "l3" })
        {
            _lists.Tell(Specs.Batch(name, "w", 0, "x"));
            await ExpectMsgAsync<BatchAppended>();
        }

        _lists.Tell(Specs.Batch("l4", "w", 0, "x"));

        var refused = await ExpectMsgAsync<AppendRefused>();
        Assert.Equal(Refusal.TooManyLists, refused.Reason);
        Assert.Contains("the limit is 3", refused.Message);
    }

    [Fact]
    public async Task LocalLists_should_delete_a_list_so_its_name_starts_again_from_empty()
    {
        _lists.Tell(Specs.Batch("orders", "w", 0, "a", "b"));
        await ExpectMsgAsync<BatchAppended>();
        var follower = CreateTestProbe();
        _lists.Tell(new GetRange { List = "orders", From = 2, Wait = true }, follower.Ref);

        _lists.Tell(new DeleteList { List = "orders" });

        Assert.True((await ExpectMsgAsync<ListDeleted>()).Existed);
        Assert.Equal("orders", (await follower.ExpectMsgAsync<ListDeleted>()).List);
        _lists.Tell(new GetResumePosition { List = "orders", Producer = "w" });
        Assert.Equal(0ul, (await ExpectMsgAsync<ResumePosition>()).NextOffset);
        _lists.Tell(Specs.Batch("orders", "w", 0, "fresh"));
        Assert.Equal(1ul, (await ExpectMsgAsync<BatchAppended>()).Length);
        Assert.Equal(["fresh"], await ReadAllAsync("orders"));

        _lists.Tell(new DeleteList { List = "never-was" });
        Assert.False((await ExpectMsgAsync<ListDeleted>()).Existed);
    }

    [Fact]
    public async Task LocalLists_should_stop_an_empty_list_so_it_no_longer_counts_toward_max_lists()
    {
        var lists = Sys.ActorOf(Specs.ListsProps(Settings with { MaxLists = 1, EmptyListPassivation = TimeSpan.FromMilliseconds(100) }),
            "passivating-lists");
        lists.Tell(Specs.Batch("first", "p", 0, "a"));
        await ExpectMsgAsync<BatchAppended>();
        lists.Tell(Specs.Batch("second", "p", 0, "b"));
        Assert.Equal(Refusal.TooManyLists, (await ExpectMsgAsync<AppendRefused>()).Reason);

        lists.Tell(new DeleteList { List = "first" });
        await ExpectMsgAsync<ListDeleted>();

        await AwaitAssertAsync(async () =>
        {
            lists.Tell(Specs.Batch("second", "p", 0, "b"));
            Assert.IsType<BatchAppended>(await ExpectMsgAsync<object>());
        }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50));
        Assert.Equal(["b"], await ReadAllAsync(lists, "second"));
    }


    private async Task ExpectAcksAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await ExpectMsgAsync<BatchAppended>();
        }
    }

    private Task<List<string>> ReadAllAsync(string list) => this.ReadListAsync(_lists, list);

    private Task<List<string>> ReadAllAsync(IActorRef lists, string list) => this.ReadListAsync(lists, list);

    [Fact]
    public void ListsGateway_should_forward_requests_to_the_region_with_their_sender_and_refuse_bad_names_itself()
    {
        var region = CreateTestProbe();
        var gateway = Sys.ActorOf(ListsGateway.Props(region.Ref, new AggregatorMetrics()));

        var batch = Specs.Batch("orders", "p1", 0, "a");
        gateway.Tell(batch);
        Assert.Equal(batch, region.ExpectMsg<AppendBatch>());
        Assert.Equal(TestActor, region.LastSender);
        gateway.Tell(new GetLength { List = "orders" });
        region.ExpectMsg<GetLength>();

        gateway.Tell(Specs.Batch("no/slash", "p1", 0, "a"));
        Assert.Equal(Refusal.InvalidName, ExpectMsg<AppendRefused>().Reason);
        gateway.Tell(new GetRange { List = "" });
        Assert.Equal(Refusal.InvalidName, ExpectMsg<RequestRefused>().Reason);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void The_extractor_should_route_every_list_request_by_name_to_the_same_shard_on_every_node()
    {
        var extractor = new ListMessageExtractor(100);

        Assert.Equal("orders", extractor.EntityId(new DeleteList { List = "orders" }));
        Assert.Equal("orders", extractor.EntityId(new GetListStats { List = "orders" }));
        Assert.Null(extractor.EntityId(new GetStats()));
        Assert.All(Protocol.ProtocolSerializer.MessageTypes.Where(t => t.Name.StartsWith("Get", StringComparison.Ordinal) && t != typeof(GetStats))
            .Append(typeof(AppendBatch)).Append(typeof(DeleteList)), type => Assert.True(typeof(IListRequest).IsAssignableFrom(type), $"{type.Name} is routed by its list"));

        // A stable hash, not string.GetHashCode (which differs in every process): a node
        // started by hand put list "c" in shard 81 (its actor was /system/sharding/lists/81/c).
        Assert.Equal("81", extractor.ShardId("c"));
    }
}
