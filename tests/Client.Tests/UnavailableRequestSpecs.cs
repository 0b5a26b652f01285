using System.Diagnostics;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Client.Tests;

/// <summary>
/// A read, count or delete refused UNAVAILABLE (the aggregator could not load the list from its
/// journal): the client says so once and asks again with back-off, until answered or until
/// <see cref="AggregatorClientOptions.UnavailableTimeout"/>.
/// </summary>
public sealed class UnavailableRequestSpecs(ITestOutputHelper output) : ScriptedAggregatorKit(output)
{
    private const string Why = "loading list 'orders' from the journal failed: Connection refused; ask again";

    [Fact]
    public async Task A_count_refused_UNAVAILABLE_should_warn_once_and_ask_again_until_answered()
    {
        await using var client = AggregatorClient.Create(Options(o =>
        {
            o.ActorSystem = Sys;
            o.Contacts = Contact.ToString();
        }));

        var count = await EventFilter.Warning(contains: $"The aggregator cannot answer now: {Why}; asking again with back-off").ExpectOneAsync(async () =>
        {
            var counting = client.List("orders").CountAsync();
            for (var refusal = 0; refusal < 3; refusal++)
            {
                await Aggregator.ExpectMsgAsync<GetLength>();
                Aggregator.Reply(new RequestRefused { List = "orders", Reason = Refusal.Unavailable, Message = Why });
            }

            await Aggregator.ExpectMsgAsync<GetLength>();
            Aggregator.Reply(new Length { List = "orders", Count = 3 });
            return await counting.WaitAsync(RemainingOrDefault);
        });

        Assert.Equal(3ul, count);
    }

    [Fact]
    public async Task A_count_refused_UNAVAILABLE_for_longer_than_the_unavailable_timeout_should_fail_with_the_aggregators_words()
    {
        var limit = TimeSpan.FromSeconds(1);
        await using var client = AggregatorClient.Create(Options(o =>
        {
            o.ActorSystem = Sys;
            o.Contacts = Contact.ToString();
            o.UnavailableTimeout = limit;
        }));
        var clock = Stopwatch.StartNew();
        var counting = client.List("orders").CountAsync();

        var refusals = 0;
        while (!counting.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (await Aggregator.ReceiveOneAsync(TimeSpan.FromMilliseconds(500)) is GetLength)
            {
                refusals++;
                Aggregator.Reply(new RequestRefused { List = "orders", Reason = Refusal.Unavailable, Message = Why });
            }
        }

        var failed = await Assert.ThrowsAsync<AggregatorUnavailableException>(() => counting.WaitAsync(RemainingOrDefault));
        Assert.Equal($"{Why} (still after 1 s of retries: unavailable-timeout)", failed.Message);
        Assert.True(refusals >= 2, $"asked {refusals} times");
        Assert.True(clock.Elapsed >= limit, $"failed after {clock.Elapsed}, before the unavailable-timeout");
    }
}
