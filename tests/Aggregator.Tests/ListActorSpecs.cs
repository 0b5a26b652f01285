using Microsoft.Extensions.Time.Testing;
using Akka.Actor;
using Aggregator;
using Google.Protobuf;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Tests;

/// <summary>One list: appends exactly once per producer offset, reads, limits, deletes, retention, incarnations (followers: <see cref="FollowerSpecs"/>).</summary>
public sealed class ListActorSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ListSettings Settings = Specs.SmallLists;

    private readonly IActorRef _lists;

    public ListActorSpecs(ITestOutputHelper output) : base(Specs.System("listactor-specs", lists: Settings), output)
    {
        _lists = Specs.Entry(Sys); // the production /user/lists, with the settings above
    }

    [Fact]
    public async Task ListActor_should_append_a_batch_and_acknowledge_it()
    {
        _lists.Tell(Specs.Batch("orders", "w1", 0, "a", "b", "c"));

        var ack = await ExpectMsgAsync<BatchAppended>();
        Assert.Equal(("orders", "w1", 0ul, 3ul, 3u, 0u, 3ul),
            (ack.List, ack.Producer, ack.FirstOffset, ack.NextOffset, ack.Applied, ack.Duplicates, ack.Length));
        Assert.Equal(["a", "b", "c"], await ReadAllAsync("orders"));
    }

    [Fact]
    public async Task ListActor_should_acknowledge_a_duplicate_without_applying_it_again()
    {
        _lists.Tell(Specs.Batch("orders", "w1", 0, "a", "b"));
        await ExpectMsgAsync<BatchAppended>();

        _lists.Tell(Specs.Batch("orders", "w1", 0, "a", "b"));

        var ack = await ExpectMsgAsync<BatchAppended>();
        Assert.Equal((0u, 2u, 2ul, 2ul), (ack.Applied, ack.Duplicates, ack.NextOffset, ack.Length));
        Assert.Equal(["a", "b"], await ReadAllAsync("orders"));
    }

    [Fact]
    public async Task ListActor_should_apply_only_the_new_part_of_an_overlapping_batch()
    {
        _lists.Tell(Specs.Batch("orders", "w1", 0, "0", "1", "2"));
        await ExpectMsgAsync<BatchAppended>();

        _lists.Tell(Specs.Batch("orders", "w1", 1, "1", "2", "3", "4"));

        var ack = await ExpectMsgAsync<BatchAppended>();
        Assert.Equal((2u, 2u, 5ul), (ack.Applied, ack.Duplicates, ack.NextOffset));
        Assert.Equal(["0", "1", "2", "3", "4"], await ReadAllAsync("orders"));
    }

    [Fact]
    public async Task ListActor_should_refuse_a_gap_naming_the_offset_it_expects()
    {
        _lists.Tell(Specs.Batch("orders", "w1", 0, "0", "1"));
        await ExpectMsgAsync<BatchAppended>();

        _lists.Tell(Specs.Batch("orders", "w1", 5, "5"));

        var refused = await ExpectMsgAsync<AppendRefused>();
        Assert.Equal((Refusal.Gap, 2ul, 5ul), (refused.Reason, refused.ExpectedOffset, refused.FirstOffset));
        Assert.Equal(["0", "1"], await ReadAllAsync("orders"));
    }

    [Fact]
    public async Task ListActor_should_keep_each_producers_order_when_producers_interleave()
    {
        for (var i = 0; i < 10; i++)
        {
            _lists.Tell(Specs.Batch("mixed", "a", (ulong)i, $"a{i}"));
            _lists.Tell(Specs.Batch("mixed", "b", (ulong)i * 2, $"b{i * 2}", $"b{(i * 2) + 1}"));
        }

        await ExpectAcksAsync(20);
        var items = await ReadAllAsync("mixed");

        Assert.Equal(30, items.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"a{i}"), items.Where(i => i[0] == 'a'));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"b{i}"), items.Where(i => i[0] == 'b'));
    }

    [Fact]
    public async Task ListActor_should_tell_a_producer_where_to_resume()
    {
        _lists.Tell(Specs.Batch("orders", "w1", 0, "a", "b", "c"));
        await ExpectMsgAsync<BatchAppended>();

        _lists.Tell(new GetResumePosition { List = "orders", Producer = "w1" });
        Assert.Equal(3ul, (await ExpectMsgAsync<ResumePosition>()).NextOffset);

        _lists.Tell(new GetResumePosition { List = "orders", Producer = "never-seen" });
        Assert.Equal(0ul, (await ExpectMsgAsync<ResumePosition>()).NextOffset);

        _lists.Tell(new GetResumePosition { List = "no-such-list", Producer = "w1" });
        Assert.Equal(0ul, (await ExpectMsgAsync<ResumePosition>()).NextOffset);
    }

    [Fact]
    public async Task ListActor_should_page_a_list_larger_than_a_transport_frame()
    {
        const int total = 200_000;
        for (var start = 0; start < total; start += 5000)
        {
            _lists.Tell(Specs.Batch("big", "w", (ulong)start, Enumerable.Range(start, 5000).Select(i => $"it-0-{i:D8}").ToArray()));
        }

        await ExpectAcksAsync(total / 5000);

        var items = new List<string>();
        var pages = 0;
        while (items.Count < total)
        {
            _lists.Tell(new GetRange { List = "big", From = (ulong)items.Count });
            var page = await ExpectMsgAsync<ItemRange>();
            Assert.True(page.CalculateSize() < 128000, $"a page of {page.CalculateSize()} bytes");
            Assert.True(page.Count > 0);
            items.AddRange(PackedItems.Decode(page.Items.Span));
            pages++;
        }

        Assert.True(pages > 20, $"{pages} pages");
        Assert.Equal(Enumerable.Range(0, total).Select(i => $"it-0-{i:D8}"), items);
    }

    [Fact]
    public async Task ListActor_should_answer_a_range_with_at_most_max_count_items()
    {
        _lists.Tell(Specs.Batch("orders", "w", 0, "a", "b", "c", "d"));
        await ExpectMsgAsync<BatchAppended>();

        _lists.Tell(new GetRange { List = "orders", From = 1, MaxCount = 2 });

        var page = await ExpectMsgAsync<ItemRange>();
        Assert.Equal((1ul, 2u, 4ul), (page.From, page.Count, page.Length));
        Assert.Equal(["b", "c"], PackedItems.Decode(page.Items.Span));
    }

    [Fact]
    public async Task ListActor_should_refuse_an_item_over_the_size_limit_and_apply_nothing()
    {
        _lists.Tell(Specs.Batch("orders", "w", 0, "fine", new string('x', 1001)));

        var refused = await ExpectMsgAsync<AppendRefused>();
        Assert.Equal(Refusal.ItemTooLarge, refused.Reason);
        Assert.Contains("item 1 is 1001 bytes; the limit is 1000", refused.Message);
        Assert.Empty(await ReadAllAsync("orders"));
    }

    [Fact]
    public async Task ListActor_should_refuse_invalid_utf8_and_malformed_batches()
    {
        _lists.Tell(new AppendBatch { List = "orders", Producer = "w", Count = 1, Items = ByteString.CopyFrom(2, 0xC3, 0x28) });
        Assert.Equal(Refusal.InvalidUtf8, (await ExpectMsgAsync<AppendRefused>()).Reason);

        _lists.Tell(new AppendBatch { List = "orders", Producer = "w", Count = 2, Items = PackedItems.Encode(["one"]) });
        Assert.Equal(Refusal.MalformedBatch, (await ExpectMsgAsync<AppendRefused>()).Reason);

        Assert.Empty(await ReadAllAsync("orders"));
    }

    [Fact]
    public async Task ListActor_should_refuse_a_producer_over_the_producer_limit()
    {
        for (var i = 0; i < 4; i++)
        {
            _lists.Tell(Specs.Batch("orders", $"w{i}", 0, "x"));
            await ExpectMsgAsync<BatchAppended>();
        }

        _lists.Tell(Specs.Batch("orders", "w4", 0, "x"));

        Assert.Equal(Refusal.TooManyProducers, (await ExpectMsgAsync<AppendRefused>()).Reason);
    }

    [Fact]
    public async Task ListActor_should_forget_a_producer_position_after_the_retention_period()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var lists = Sys.ActorOf(Specs.ListsProps(Settings with { ProducerRetention = TimeSpan.FromDays(7), MaxProducersPerList = 2 }, clock),
            "retained-lists");
        lists.Tell(Specs.Batch("kept", "p1", 0, "a", "b"));
        lists.Tell(Specs.Batch("kept", "p2", 0, "c"));
        await ExpectAcksAsync(2);
        clock.Advance(TimeSpan.FromDays(6));
        lists.Tell(Specs.Batch("kept", "p1", 2, "d"));
        await ExpectMsgAsync<BatchAppended>();

        clock.Advance(TimeSpan.FromDays(2)); // p2 last appended 8 days ago, p1 2 days ago
        lists.Tell(new GetResumePosition { List = "kept", Producer = "p2" });
        Assert.Equal(0ul, (await ExpectMsgAsync<ResumePosition>()).NextOffset);
        lists.Tell(new GetResumePosition { List = "kept", Producer = "p1" });
        Assert.Equal(3ul, (await ExpectMsgAsync<ResumePosition>()).NextOffset);

        // p2 starts again: its old input is appended again, not skipped as duplicates.
        lists.Tell(Specs.Batch("kept", "p2", 0, "c"));
        var again = await ExpectMsgAsync<BatchAppended>();
        Assert.Equal((1u, 0u), (again.Applied, again.Duplicates));

        // Positions expired no longer count toward the limit of 2.
        lists.Tell(Specs.Batch("kept", "p3", 0, "e"));
        Assert.Equal(Refusal.TooManyProducers, (await ExpectMsgAsync<AppendRefused>()).Reason);
        clock.Advance(TimeSpan.FromDays(7)); // p1 and p2 both expire
        lists.Tell(Specs.Batch("kept", "p3", 0, "e"));
        Assert.Equal(1u, (await ExpectMsgAsync<BatchAppended>()).Applied);
        Assert.Equal(["a", "b", "c", "d", "c", "e"], await ReadAllAsync(lists, "kept"));
    }

    [Fact]
    public async Task ListActor_should_refuse_a_batch_for_an_incarnation_deleted_in_memory_but_not_one_made_by_another_aggregator()
    {
        _lists.Tell(Specs.Batch("mem", "p", 0, "a"));
        var incarnation = (await ExpectMsgAsync<BatchAppended>()).Incarnation;
        _lists.Tell(new DeleteList { List = "mem" });
        await ExpectMsgAsync<ListDeleted>();

        var late = Specs.Batch("mem", "p", 1, "b");
        late.Incarnation = incarnation;
        _lists.Tell(late);
        Assert.Equal(Refusal.ListDeleted, (await ExpectMsgAsync<AppendRefused>()).Reason);

        // An incarnation this process never made was lost with an aggregator that restarted
        // in memory: not a delete. The producer hears a gap, and finds out it lost items.
        var foreign = Specs.Batch("mem", "q", 1, "b");
        foreign.Incarnation = (1UL << 63) | 5; // its high half is no process's instance
        _lists.Tell(foreign);
        var refused = await ExpectMsgAsync<AppendRefused>();
        Assert.Equal((Refusal.Gap, 0ul), (refused.Reason, refused.ExpectedOffset));
    }

    private async Task ExpectAcksAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await ExpectMsgAsync<BatchAppended>();
        }
    }

    [Fact]
    public async Task ListActor_in_memory_should_keep_an_empty_list_that_handed_out_its_incarnation()
    {
        var lists = Sys.ActorOf(Specs.ListsProps(Settings with { EmptyListPassivation = TimeSpan.FromMilliseconds(100) }), "short-lived-lists");
        lists.Tell(Specs.Batch("kept", "a", 0, "x"));
        await ExpectMsgAsync<BatchAppended>();
        lists.Tell(new DeleteList { List = "kept" });
        await ExpectMsgAsync<ListDeleted>();
        lists.Tell(new GetResumePosition { List = "kept", Producer = "b" });
        var position = await ExpectMsgAsync<ResumePosition>();
        Assert.NotEqual(0ul, position.Incarnation);

        // A list made after it, emptied the same way but with no incarnation handed out, stops
        // at its idle checks: by then "kept", older, has had as many.
        lists.Tell(Specs.Batch("gone", "a", 0, "x"));
        await ExpectMsgAsync<BatchAppended>();
        lists.Tell(new DeleteList { List = "gone" });
        await ExpectMsgAsync<ListDeleted>();
        var gone = Sys.ActorSelection(lists.Path / "gone~2");
        Assert.NotNull((await gone.Ask<ActorIdentity>(new Identify(1), RemainingOrDefault)).Subject);
        await AwaitAssertAsync(async () => Assert.Null((await gone.Ask<ActorIdentity>(new Identify(2), RemainingOrDefault)).Subject),
            TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50));

        var first = Specs.Batch("kept", "b", 0, "y");
        first.Incarnation = position.Incarnation;
        lists.Tell(first);

        var ack = await ExpectMsgAsync<BatchAppended>();
        Assert.Equal((1u, position.Incarnation), (ack.Applied, ack.Incarnation));
    }

    private Task<List<string>> ReadAllAsync(string list) => this.ReadListAsync(_lists, list);

    private Task<List<string>> ReadAllAsync(IActorRef lists, string list) => this.ReadListAsync(lists, list);
}
