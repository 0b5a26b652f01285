using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Client.Tests;

/// <summary>The producer actor against a scripted aggregator.</summary>
public sealed class ProducerActorSpecs(ITestOutputHelper output) : ScriptedAggregatorKit(output)
{

    [Fact]
    public async Task ProducerActor_should_start_from_the_position_theAggregator_names()
    {
        var producer = await StartAsync(resumeAt: 5);

        producer.Tell(Offer(5, 2));

        await ExpectMsgAsync<ProducerActor.OfferAccepted>();
        var batch = await Aggregator.ExpectMsgAsync<AppendBatch>();
        Assert.Equal(("orders", "p1", 5ul, 2u), (batch.List, batch.Producer, batch.FirstOffset, batch.Count));
    }

    [Fact]
    public async Task ProducerActor_should_send_the_last_batch_that_comes_with_finish_and_answer_once_it_is_acknowledged()
    {
        var producer = await StartAsync(resumeAt: 0);

        producer.Tell(new ProducerActor.Finish(Offer(0, 2).Batch));

        var batch = await Aggregator.ExpectMsgAsync<AppendBatch>();
        Assert.Equal((0ul, 2u), (batch.FirstOffset, batch.Count));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200)); // not before the acknowledgement
        producer.Tell(Ack(0, 2, applied: 2), Aggregator.Ref);
        var finished = await ExpectMsgAsync<ProducerActor.Finished>();
        Assert.Equal((2ul, 2ul), (finished.NextOffset, finished.Applied));
    }

    [Fact]
    public async Task ProducerActor_should_fail_the_waiting_call_and_stop_when_a_handler_throws()
    {
        var producer = await StartAsync(resumeAt: 0);
        Watch(producer);
        producer.Tell(new ProducerActor.Finish(Offer(0, 2).Batch));
        await Aggregator.ExpectMsgAsync<AppendBatch>();

        // A defect: an offer without a batch throws in the handler. Restarted, the actor would
        // answer probes for ever while the flush above waited for an answer it no longer owes.
        producer.Tell(new ProducerActor.Offer(null!), CreateTestProbe().Ref);

        var failed = await ExpectMsgAsync<ProducerActor.AppendFailed>();
        Assert.StartsWith("the producer of list 'orders' failed: ", failed.Reason.Message);
        Assert.EndsWith("0 items acknowledged (the same producer id resumes after them)", failed.Reason.Message);
        await ExpectTerminatedAsync(producer);
    }

    [Fact]
    public async Task ProducerActor_should_hold_back_an_offer_while_the_window_is_full()
    {
        var producer = await StartAsync(resumeAt: 0);

        producer.Tell(Offer(0, 3));
        await ExpectMsgAsync<ProducerActor.OfferAccepted>();
        producer.Tell(Offer(3, 3));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        await Aggregator.ExpectMsgAsync<AppendBatch>();
        await Aggregator.ExpectMsgAsync<AppendBatch>();

        producer.Tell(Ack(0, 3, applied: 3), Aggregator.Ref);

        await ExpectMsgAsync<ProducerActor.OfferAccepted>();
    }

    [Fact]
    public async Task ProducerActor_should_finish_only_when_every_batch_is_acknowledged()
    {
        var producer = await StartAsync(resumeAt: 0);
        producer.Tell(Offer(0, 3));
        await ExpectMsgAsync<ProducerActor.OfferAccepted>();

        producer.Tell(new ProducerActor.Finish());
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        producer.Tell(Ack(0, 3, applied: 2, duplicates: 1), Aggregator.Ref);

        var finished = await ExpectMsgAsync<ProducerActor.Finished>();
        Assert.Equal((3ul, 2ul, 1ul), (finished.NextOffset, finished.Applied, finished.Duplicates));
        // The batch waited at least the 200 ms above for its acknowledgement, and not unbounded.
        Assert.InRange(finished.LongestWait, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ProducerActor_should_resend_from_the_offset_named_by_a_gap()
    {
        var producer = await StartAsync(resumeAt: 0);
        producer.Tell(Offer(0, 3));
        producer.Tell(Offer(3, 3));
        await Aggregator.ExpectMsgAsync<AppendBatch>();
        await Aggregator.ExpectMsgAsync<AppendBatch>();

        producer.Tell(new AppendRefused { List = "orders", Producer = "p1", FirstOffset = 3, ExpectedOffset = 2, Reason = Refusal.Gap },
            Aggregator.Ref);

        Assert.Equal(0ul, (await Aggregator.ExpectMsgAsync<AppendBatch>()).FirstOffset);
        Assert.Equal(3ul, (await Aggregator.ExpectMsgAsync<AppendBatch>()).FirstOffset);
    }

    [Fact]
    public async Task ProducerActor_should_resend_a_batch_not_acknowledged_in_time()
    {
        var producer = await StartAsync(resumeAt: 0, Options(o => { o.AckTimeout = TimeSpan.FromMilliseconds(300); }));
        producer.Tell(Offer(0, 3));
        var first = await Aggregator.ExpectMsgAsync<AppendBatch>();
        var sent = System.Diagnostics.Stopwatch.StartNew();

        var again = await Aggregator.ExpectMsgAsync<AppendBatch>(TimeSpan.FromSeconds(5));

        Assert.Equal(first, again);
        Assert.True(sent.Elapsed >= TimeSpan.FromMilliseconds(270), $"resent after {sent.Elapsed.TotalMilliseconds:0} ms, before the 300 ms ack time-out");
    }

    [Fact]
    public async Task ProducerActor_should_reconnect_after_losing_theAggregator_and_resend_what_is_unacknowledged()
    {
        var producer = await StartAsync(resumeAt: 0);
        producer.Tell(Offer(0, 2));
        await SentAsync(producer, 2, 2);
        await Aggregator.ExpectMsgAsync<AppendBatch>();
        producer.Tell(Ack(0, 2, applied: 2), Aggregator.Ref);
        await ExpectMsgAsync<ProducerActor.OfferAccepted>();

        var forwarder = await Sys.ActorSelection("/user/" + ActorNames.Lists).ResolveOne(RemainingOrDefault);
        Watch(forwarder);
        forwarder.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(forwarder);

        // The guardian frees the name a moment after Terminated reaches us: try until it has.
        await AwaitAssertAsync(() => Sys.ActorOf(Props.Create(() => new Forwarder(Aggregator.Ref)), ActorNames.Lists),
            TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(20));

        await Aggregator.ExpectMsgAsync<GetResumePosition>(TimeSpan.FromSeconds(10));
        Aggregator.Reply(new ResumePosition { List = "orders", Producer = "p1", NextOffset = 2 });

        Assert.Equal(2ul, (await Aggregator.ExpectMsgAsync<AppendBatch>()).FirstOffset);
        await Aggregator.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task ProducerActor_should_fail_when_theAggregator_has_lost_acknowledged_items()
    {
        var producer = await StartAsync(resumeAt: 0);
        await SentAsync(producer, 0, 4);
        producer.Tell(Ack(0, 4, applied: 4), Aggregator.Ref);
        producer.Tell(Offer(4, 1));
        await ExpectMsgAsync<ProducerActor.OfferAccepted>();

        producer.Tell(new AppendRefused { List = "orders", Producer = "p1", FirstOffset = 4, ExpectedOffset = 0, Reason = Refusal.Gap },
            Aggregator.Ref);
        await Aggregator.ExpectMsgAsync<AppendBatch>(); // the offer after the ack, sent before the refusal came
        await Aggregator.ExpectMsgAsync<GetResumePosition>();
        Aggregator.Reply(new ResumePosition { List = "orders", Producer = "p1", NextOffset = 0 });
        producer.Tell(new ProducerActor.Finish());

        var failed = await ExpectMsgAsync<ProducerActor.AppendFailed>();
        Assert.IsType<AggregatorLostItemsException>(failed.Reason);
        Assert.Contains("lost acknowledged items", failed.Reason.Message);
    }

    [Fact]
    public async Task ProducerActor_should_fail_with_usage_when_theAggregator_refuses_a_batch_for_good()
    {
        var producer = await StartAsync(resumeAt: 0);
        producer.Tell(Offer(0, 1));
        await ExpectMsgAsync<ProducerActor.OfferAccepted>();

        producer.Tell(new AppendRefused { List = "orders", Producer = "p1", Reason = Refusal.ItemTooLarge, Message = "item 0 is too large" },
            Aggregator.Ref);
        producer.Tell(new ProducerActor.Finish());

        var failed = await ExpectMsgAsync<ProducerActor.AppendFailed>();
        Assert.Equal(Refusal.ItemTooLarge, Assert.IsType<AggregatorRefusedException>(failed.Reason).Reason);
        Assert.Contains("item 0 is too large", failed.Reason.Message);
    }

    [Fact]
    public async Task ProducerActor_should_give_up_with_unreachable_after_the_connect_timeout()
    {
        var nobody = new AggregatorLocator(Sys, [new Endpoint("127.0.0.1", FreePort())], DefaultOptions);
        var producer = Sys.ActorOf(ProducerActor.Props("orders", "p1", Options(o => o.ConnectTimeout = TimeSpan.FromSeconds(1)), nobody));

        var started = System.Diagnostics.Stopwatch.StartNew();
        producer.Tell(new ProducerActor.Start());

        var failed = await ExpectMsgAsync<ProducerActor.AppendFailed>(TimeSpan.FromSeconds(10));
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(900), $"gave up after {started.Elapsed.TotalMilliseconds:0} ms, before the 1 s connect time-out");
        Assert.IsType<AggregatorUnreachableException>(failed.Reason);
        Assert.Contains("did not answer within 1 s", failed.Reason.Message);
    }

    [Fact]
    public async Task ProducerActor_should_reach_theAggregator_through_the_next_contact_when_the_first_does_not_answer()
    {
        var locator = new AggregatorLocator(Sys, [new Endpoint("127.0.0.1", FreePort()), Contact],
            DefaultOptions);
        var producer = Sys.ActorOf(ProducerActor.Props("orders", "p1", Options(o => o.ConnectTimeout = TimeSpan.FromSeconds(20)), locator));

        producer.Tell(new ProducerActor.Start());

        await Aggregator.ExpectMsgAsync<GetResumePosition>(TimeSpan.FromSeconds(10));
        Aggregator.Reply(new ResumePosition { List = "orders", Producer = "p1", NextOffset = 3 });
        Assert.Equal(3ul, (await ExpectMsgAsync<ProducerActor.Started>()).ResumeOffset);
        Assert.Equal(2, locator.Count);
        Assert.Equal($"127.0.0.1:{Address.Port}", locator.Endpoint(1));
    }

    [Fact]
    public async Task ProducerActor_should_ask_again_for_its_resume_position_when_the_reply_is_lost()
    {
        var locator = new AggregatorLocator(Sys, [Contact], DefaultOptions);
        var producer = Sys.ActorOf(ProducerActor.Props("orders", "p1", Options(o => { o.AckTimeout = TimeSpan.FromMilliseconds(300); }), locator));
        producer.Tell(new ProducerActor.Start());
        await Aggregator.ExpectMsgAsync<GetResumePosition>(); // its reply is lost
        var asked = System.Diagnostics.Stopwatch.StartNew();

        var again = await Aggregator.ExpectMsgAsync<GetResumePosition>(TimeSpan.FromSeconds(5));
        Assert.True(asked.Elapsed >= TimeSpan.FromMilliseconds(270), $"asked again after {asked.Elapsed.TotalMilliseconds:0} ms, before the 300 ms ack time-out");
        Aggregator.Reply(new ResumePosition { List = "orders", Producer = "p1", NextOffset = 7, Incarnation = 42 });

        Assert.Equal(("orders", "p1", 0ul), (again.List, again.Producer, again.Incarnation));
        Assert.Equal(7ul, (await ExpectMsgAsync<ProducerActor.Started>()).ResumeOffset);
    }

    [Fact]
    public async Task ProducerActor_should_stamp_its_batches_with_the_incarnation_the_list_named()
    {
        var producer = await StartAsync(resumeAt: 0);
        producer.Tell(Offer(0, 2));
        Assert.Equal(0ul, (await Aggregator.ExpectMsgAsync<AppendBatch>()).Incarnation);

        producer.Tell(Ack(0, 2, applied: 2, incarnation: 99), Aggregator.Ref);
        producer.Tell(Offer(2, 1));

        Assert.Equal(99ul, (await Aggregator.ExpectMsgAsync<AppendBatch>()).Incarnation);
    }

    [Fact]
    public async Task ProducerActor_should_stop_naming_the_deletion_when_its_list_is_deleted()
    {
        var producer = await StartAsync(resumeAt: 0);
        await SentAsync(producer, 0, 3);
        producer.Tell(Ack(0, 3, applied: 3, incarnation: 5), Aggregator.Ref);
        await SentAsync(producer, 3, 1);

        producer.Tell(new AppendRefused { List = "orders", Producer = "p1", FirstOffset = 3, Reason = Refusal.ListDeleted, Message = "deleted" },
            Aggregator.Ref);
        producer.Tell(new ProducerActor.Finish());

        var failed = await ExpectMsgAsync<ProducerActor.AppendFailed>();
        var deleted = Assert.IsType<ListDeletedException>(failed.Reason);
        Assert.Equal(("orders", 3ul), (deleted.List, deleted.Acknowledged));
        Assert.Equal("list 'orders' was deleted while this producer appended to it (3 items acknowledged before)", deleted.Message);
    }

    [Fact]
    public async Task ProducerActor_should_ask_the_list_with_its_incarnation_when_the_list_is_behind_and_stop_when_it_was_deleted()
    {
        var producer = await StartAsync(resumeAt: 0);
        await SentAsync(producer, 0, 2);
        producer.Tell(Ack(0, 2, applied: 2, incarnation: 8), Aggregator.Ref);
        await SentAsync(producer, 2, 2);

        producer.Tell(new AppendRefused { List = "orders", Producer = "p1", FirstOffset = 2, ExpectedOffset = 0, Reason = Refusal.Gap },
            Aggregator.Ref);
        var ask = await Aggregator.ExpectMsgAsync<GetResumePosition>();
        Assert.Equal(8ul, ask.Incarnation);
        Aggregator.Reply(new RequestRefused { List = "orders", Reason = Refusal.ListDeleted, Message = "deleted" });
        producer.Tell(new ProducerActor.Finish());

        var failed = await ExpectMsgAsync<ProducerActor.AppendFailed>();
        Assert.Equal(2ul, Assert.IsType<ListDeletedException>(failed.Reason).Acknowledged);
        await Aggregator.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200)); // nothing is sent to the fresh list
    }

    [Fact]
    public async Task ProducerActor_should_count_every_acknowledged_offset_once_as_new_duplicate_or_confirmed_by_position()
    {
        var producer = await StartAsync(resumeAt: 0);
        producer.Tell(Offer(0, 4));
        producer.Tell(Offer(4, 4));
        await Aggregator.ExpectMsgAsync<AppendBatch>();
        await Aggregator.ExpectMsgAsync<AppendBatch>();

        // The first batch overlaps what the list had (1 duplicate); a gap then confirms up
        // to 6 without an acknowledgement; the resent second batch's answer covers 6 and 7.
        producer.Tell(Ack(0, 4, applied: 3, duplicates: 1), Aggregator.Ref);
        await ExpectMsgAsync<ProducerActor.OfferAccepted>();
        await ExpectMsgAsync<ProducerActor.OfferAccepted>();
        producer.Tell(new AppendRefused { List = "orders", Producer = "p1", FirstOffset = 8, ExpectedOffset = 6, Reason = Refusal.Gap },
            Aggregator.Ref);
        producer.Tell(Ack(4, 4, applied: 2, duplicates: 2), Aggregator.Ref);
        producer.Tell(new ProducerActor.Finish());

        var finished = await ExpectMsgAsync<ProducerActor.Finished>();
        Assert.Equal((8ul, 5ul, 1ul, 2ul), (finished.NextOffset, finished.Applied, finished.Duplicates, finished.ConfirmedByPosition));
        Assert.Equal(finished.NextOffset, finished.Applied + finished.Duplicates + finished.ConfirmedByPosition);
    }

    private static int FreePort() => TestSupport.FreePorts.Next();
}
