using Akka.Actor;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Client.Tests;

/// <summary>
/// Two producers of one id at once: the one that hears of offsets it never sent, or whose
/// session the list no longer holds the id for, stops with <see cref="ProducerConflictException"/>
/// instead of waiting for ever for acknowledgements, or taking another run's items for its own.
/// </summary>
public sealed class ProducerConflictSpecs(ITestOutputHelper output) : ScriptedAggregatorKit(output)
{
    [Fact]
    public async Task A_producer_should_stop_naming_the_conflict_when_an_acknowledgement_passes_everything_it_sent()
    {
        var producer = await StartAsync(resumeAt: 0);
        await SentAsync(producer, 0, 3);

        // The other producer of p1 appended offsets 0-9 first: this batch's items are "duplicates".
        producer.Tell(Ack(0, 10, applied: 0, duplicates: 3), Aggregator.Ref);
        producer.Tell(new ProducerActor.Finish());

        var failed = await ExpectMsgAsync<ProducerActor.AppendFailed>();
        var conflict = Assert.IsType<ProducerConflictException>(failed.Reason);
        Assert.Equal(0ul, conflict.Acknowledged);
        Assert.Contains("another producer with id 'p1' is appending to list 'orders'", conflict.Message);
        Assert.Contains("at offset 10, past offset 3, the end of what this producer sent", conflict.Message);
    }

    [Fact]
    public async Task A_producer_should_stop_naming_the_conflict_when_a_gap_names_an_offset_it_never_sent()
    {
        var conflict = await RefusedAfterTwoAcknowledgedAsync(
            new AppendRefused { List = "orders", Producer = "p1", FirstOffset = 2, ExpectedOffset = 7, Reason = Refusal.Gap });

        Assert.Equal(2ul, conflict.Acknowledged);
        Assert.Contains("at offset 7, past offset 4, the end of what this producer sent", conflict.Message);
    }

    [Fact]
    public async Task A_producer_should_take_an_acknowledgement_up_to_the_end_of_what_it_sent_as_its_own()
    {
        var producer = await StartAsync(resumeAt: 5);
        await SentAsync(producer, 5, 3);

        producer.Tell(Ack(5, 3, applied: 3), Aggregator.Ref);
        producer.Tell(new ProducerActor.Finish());

        Assert.Equal(8ul, (await ExpectMsgAsync<ProducerActor.Finished>()).NextOffset);
    }

    [Fact]
    public async Task A_producer_should_put_one_session_of_its_own_in_every_request()
    {
        var producer = await StartAsync(resumeAt: 0);
        var ask = LastResumeRequest!;
        var batch = await SentAsync(producer, 0, 2);

        await StartAsync(resumeAt: 0); // another run of p1

        Assert.NotEqual(0ul, ask.Session);
        Assert.Equal(ask.Session, batch.Session);
        Assert.NotEqual(ask.Session, LastResumeRequest!.Session);
    }

    [Fact]
    public async Task A_producer_should_stop_naming_the_conflict_when_the_list_says_another_run_holds_its_id()
    {
        var conflict = await RefusedAfterTwoAcknowledgedAsync(new AppendRefused
        {
            List = "orders", Producer = "p1", FirstOffset = 2, ExpectedOffset = 2, Reason = Refusal.ProducerInUse,
            Message = "another run of producer 'p1' is appending to list 'orders'",
        });

        Assert.Equal(2ul, conflict.Acknowledged);
        Assert.Equal("another run of producer 'p1' is appending to list 'orders' (2 items of this one acknowledged)", conflict.Message);
    }

    /// <summary>Offsets 0-1 acknowledged, 2-3 sent, then <paramref name="refusal"/>: the conflict the producer stops with.</summary>
    private async Task<ProducerConflictException> RefusedAfterTwoAcknowledgedAsync(AppendRefused refusal)
    {
        var producer = await StartAsync(resumeAt: 0);
        await SentAsync(producer, 0, 2);
        producer.Tell(Ack(0, 2, applied: 2), Aggregator.Ref);
        await SentAsync(producer, 2, 2);

        producer.Tell(refusal, Aggregator.Ref);
        producer.Tell(new ProducerActor.Finish());

        return Assert.IsType<ProducerConflictException>((await ExpectMsgAsync<ProducerActor.AppendFailed>()).Reason);
    }
}
