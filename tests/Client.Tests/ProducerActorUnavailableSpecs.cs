using Akka.Actor;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Client.Tests;

/// <summary>The producer actor when the aggregator cannot store (UNAVAILABLE) or answers nothing: back-off, and the unavailable time-out.</summary>
public sealed class ProducerActorUnavailableSpecs(ITestOutputHelper output) : ScriptedAggregatorKit(output)
{
    [Fact]
    public async Task ProducerActor_should_retry_an_unavailable_list_with_back_off_and_report_why_meanwhile()
    {
        var producer = await StartAsync(resumeAt: 0);
        var batch = await SentAsync(producer, 0, 2);

        producer.Tell(new AppendRefused { List = "orders", Producer = "p1", Reason = Refusal.Unavailable, Message = "the journal failed: disk full" },
            Aggregator.Ref);
        producer.Tell(ProducerActor.GetProgress.Instance);
        Assert.Equal("the journal failed: disk full", (await ExpectMsgAsync<ProducerActor.Progress>()).Unavailable);

        Assert.Equal(batch.FirstOffset, (await Aggregator.ExpectMsgAsync<AppendBatch>(TimeSpan.FromSeconds(5))).FirstOffset);
        producer.Tell(Ack(0, 2, applied: 2), Aggregator.Ref);
        producer.Tell(ProducerActor.GetProgress.Instance);
        var progress = await ExpectMsgAsync<ProducerActor.Progress>();
        Assert.Equal((2ul, (string?)null), (progress.Acknowledged, progress.Unavailable));
    }

    [Fact]
    public async Task ProducerActor_should_ignore_an_unavailable_answer_to_a_copy_of_a_batch_acknowledged_since()
    {
        var producer = await StartAsync(resumeAt: 0);
        await SentAsync(producer, 0, 2);
        producer.Tell(Ack(0, 2, applied: 2), Aggregator.Ref);

        // The copy resent after an ack time-out met the list starting again.
        producer.Tell(new AppendRefused { List = "orders", Producer = "p1", FirstOffset = 0, Reason = Refusal.Unavailable, Message = "the list is starting again" },
            Aggregator.Ref);
        producer.Tell(ProducerActor.GetProgress.Instance);
        var progress = await ExpectMsgAsync<ProducerActor.Progress>();
        Assert.Equal((2ul, (string?)null), (progress.Acknowledged, progress.Unavailable));

        // The next batch goes out at once (it was held for ever: no retry had anything to send).
        Assert.Equal(2ul, (await SentAsync(producer, 2, 1)).FirstOffset);
        producer.Tell(Ack(2, 1, applied: 1), Aggregator.Ref);
        producer.Tell(new ProducerActor.Finish());
        Assert.Equal(3ul, (await ExpectMsgAsync<ProducerActor.Finished>()).NextOffset);
    }

    [Fact]
    public async Task ProducerActor_should_give_up_after_unavailable_timeout_of_refusals()
    {
        var settings = Options(o => { o.UnavailableTimeout = TimeSpan.FromMilliseconds(500); });
        var producer = await StartAsync(resumeAt: 0, settings);
        producer.Tell(Offer(0, 1));
        await ExpectMsgAsync<ProducerActor.OfferAccepted>();
        var started = DateTime.UtcNow;

        Task<ProducerActor.AppendFailed> failed = ExpectMsgAsync<ProducerActor.AppendFailed>(TimeSpan.FromSeconds(10)).AsTask();
        producer.Tell(new ProducerActor.Finish());
        while (!failed.IsCompleted)
        {
            await Aggregator.ExpectMsgAsync<AppendBatch>(TimeSpan.FromSeconds(5));
            producer.Tell(new AppendRefused { List = "orders", Producer = "p1", Reason = Refusal.Unavailable, Message = "journal down" },
                Aggregator.Ref);
            await Task.WhenAny(failed, Task.Delay(50));
        }

        var failure = await failed;
        var elapsed = DateTime.UtcNow - started;
        Assert.IsType<AggregatorUnavailableException>(failure.Reason);
        Assert.Contains("could not store items for 0.5 s (unavailable-timeout): journal down", failure.Reason.Message);
        Assert.InRange(elapsed, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ProducerActor_should_give_up_when_a_connectedAggregator_answers_nothing_for_unavailable_timeout()
    {
        // Resends every 100 ms, gives up after 1.5 s: it resends meanwhile unless the machine
        // stalls its timers for over 1.4 s (with 200 ms and 700 ms, a stall of half a second on a
        // loaded machine let the first resend's tick find the time out and fail at once).
        var settings = Options(o => { o.AckTimeout = TimeSpan.FromMilliseconds(100); o.UnavailableTimeout = TimeSpan.FromMilliseconds(1500); });
        var producer = await StartAsync(resumeAt: 0, settings);
        var started = DateTime.UtcNow;
        producer.Tell(Offer(0, 1));
        await ExpectMsgAsync<ProducerActor.OfferAccepted>();
        producer.Tell(new ProducerActor.Finish());

        var failed = await ExpectMsgAsync<ProducerActor.AppendFailed>(TimeSpan.FromSeconds(10));

        Assert.IsType<AggregatorUnavailableException>(failed.Reason);
        Assert.Contains("is connected but has answered nothing for", failed.Reason.Message);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(1500), TimeSpan.FromSeconds(10));
        Assert.True(Aggregator.ReceiveWhile(TimeSpan.FromMilliseconds(100), m => m as AppendBatch).Count >= 2, "it resent meanwhile");
    }

    [Fact]
    public async Task ProducerActor_should_count_unavailable_timeout_from_its_first_unanswered_batch_not_from_an_idle_input()
    {
        // A resend's tick gives up once the silence passes unavailable-timeout: 1.5 s against a
        // 100 ms ack-timeout leaves room for a loaded machine's timer stalls (see above).
        var settings = Options(o => { o.AckTimeout = TimeSpan.FromMilliseconds(100); o.UnavailableTimeout = TimeSpan.FromMilliseconds(1500); });
        var producer = await StartAsync(resumeAt: 0, settings);

        // Its input is idle for longer than unavailable-timeout: nothing is owed meanwhile.
        await Aggregator.ExpectNoMsgAsync(TimeSpan.FromSeconds(2));
        await SentAsync(producer, 0, 1);

        // One ack-timeout later it resends, rather than giving up on the idle time.
        Assert.Equal(0ul, (await Aggregator.ExpectMsgAsync<AppendBatch>(TimeSpan.FromSeconds(5))).FirstOffset);
        producer.Tell(Ack(0, 1, applied: 1), Aggregator.Ref);
        producer.Tell(new ProducerActor.Finish());
        Assert.Equal(1ul, (await ExpectMsgAsync<ProducerActor.Finished>()).NextOffset);
    }
}
