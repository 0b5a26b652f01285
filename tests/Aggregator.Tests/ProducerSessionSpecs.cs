using Akka.Actor;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// One producer id, one run at a time: the run that asked where to resume, or appended, last
/// holds the id, and the list refuses any other run's batches with PRODUCER_IN_USE, the
/// batches that look like duplicates included (two runs in lockstep). Session 0 is never
/// checked.
/// </summary>
public sealed class ProducerSessionSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const ulong First = 0x1111, Second = 0x2222;

    private readonly IActorRef _lists;

    public ProducerSessionSpecs(ITestOutputHelper output) : base(Specs.System("session-specs", lists: Specs.SmallLists), output)
    {
        _lists = Specs.Entry(Sys);
    }

    [Fact]
    public async Task A_list_should_refuse_the_batch_of_a_run_in_lockstep_with_the_one_that_holds_the_id()
    {
        await AckedAsync(Batch(First, 0, "a1", "a2"));

        // The second run sends the same offsets with other items: without sessions, answered as duplicates and lost.
        var refused = await RefusedAsync(Batch(Second, 0, "b1", "b2"));

        Assert.Equal((Refusal.ProducerInUse, 2ul), (refused.Reason, refused.ExpectedOffset));
        Assert.Equal("another run of producer 'p' is appending to list 'orders' (it started or appended after this one); use one id for one producer at a time",
            refused.Message);
        Assert.Equal(["a1", "a2"], await this.ReadListAsync(_lists, "orders"));
    }

    [Fact]
    public async Task A_list_should_give_the_id_to_the_run_that_asks_where_to_resume_last()
    {
        await AckedAsync(Batch(First, 0, "a1"));

        _lists.Tell(new GetResumePosition { List = "orders", Producer = "p", Session = Second });
        Assert.Equal(1ul, (await ExpectMsgAsync<ResumePosition>()).NextOffset);

        Assert.Equal(Refusal.ProducerInUse, (await RefusedAsync(Batch(First, 1, "a2"))).Reason);
        Assert.Equal(2ul, (await AckedAsync(Batch(Second, 1, "b2"))).NextOffset);
        Assert.Equal(["a1", "b2"], await this.ReadListAsync(_lists, "orders"));
    }

    [Fact]
    public async Task A_list_should_not_check_a_request_without_a_session()
    {
        await AckedAsync(Batch(First, 0, "a1"));

        var duplicate = await AckedAsync(Batch(0, 0, "a1"));
        var applied = await AckedAsync(Batch(0, 1, "x2"));

        Assert.Equal((0u, 1u), (duplicate.Applied, duplicate.Duplicates));
        Assert.Equal(1u, applied.Applied);
        Assert.Equal(Refusal.ProducerInUse, (await RefusedAsync(Batch(Second, 2, "b3"))).Reason);
    }

    [Fact]
    public async Task A_list_should_forget_who_held_an_id_when_it_is_deleted()
    {
        await AckedAsync(Batch(First, 0, "a1"));
        _lists.Tell(new DeleteList { List = "orders" });
        await ExpectMsgAsync<ListDeleted>();

        Assert.Equal(1u, (await AckedAsync(Batch(Second, 0, "b1"))).Applied);
    }

    [Fact]
    public async Task A_list_should_log_the_refused_window_of_a_displaced_run_once()
    {
        var warnings = CreateTestProbe();
        Sys.EventStream.Subscribe(warnings.Ref, typeof(Akka.Event.Warning));
        await AckedAsync(Batch(First, 0, "a1"));
        _lists.Tell(new GetResumePosition { List = "orders", Producer = "p", Session = Second });
        await ExpectMsgAsync<ResumePosition>();

        // The displaced run's window: three batches in flight, each refused.
        for (ulong offset = 1; offset <= 3; offset++)
        {
            Assert.Equal(Refusal.ProducerInUse, (await RefusedAsync(Batch(First, offset, $"a{offset + 1}"))).Reason);
        }

        // Another run displaced later is logged again; a refusal for another producer marks the end.
        _lists.Tell(new GetResumePosition { List = "orders", Producer = "p", Session = First });
        await ExpectMsgAsync<ResumePosition>();
        Assert.Equal(Refusal.ProducerInUse, (await RefusedAsync(Batch(Second, 1, "b2"))).Reason);
        var marker = Specs.Batch("orders", "marker/1", 0, "m");
        Assert.Equal(Refusal.InvalidName, (await RefusedAsync(marker)).Reason);

        var logged = new List<string>();
        while (logged.LastOrDefault()?.Contains("marker/1", StringComparison.Ordinal) != true)
        {
            logged.Add((await warnings.ExpectMsgAsync<Akka.Event.Warning>()).Message.ToString()!);
        }

        Assert.Equal(2, logged.Count(line => line.Contains("another run of producer 'p'", StringComparison.Ordinal)));
    }

    private static AppendBatch Batch(ulong session, ulong first, params string[] items)
    {
        var batch = Specs.Batch("orders", "p", first, items);
        batch.Session = session;
        return batch;
    }

    private async Task<BatchAppended> AckedAsync(AppendBatch batch)
    {
        _lists.Tell(batch);
        return await ExpectMsgAsync<BatchAppended>();
    }

    private async Task<AppendRefused> RefusedAsync(AppendBatch batch)
    {
        _lists.Tell(batch);
        return await ExpectMsgAsync<AppendRefused>();
    }
}
