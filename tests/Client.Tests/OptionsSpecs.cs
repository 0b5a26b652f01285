using Xunit.Abstractions;

namespace Client.Tests;

/// <summary>
/// Options a client cannot work with are refused when it is made, with the option's name: a
/// batch larger than its actor system's transport frame would be dropped by the transport and
/// never acknowledged.
/// </summary>
public sealed class OptionsSpecs(ITestOutputHelper output) : ScriptedAggregatorKit(output)
{
    [Fact]
    public void A_batch_larger_than_the_frame_of_the_clients_own_system_should_be_refused_when_the_client_is_made()
    {
        var refused = Assert.Throws<ArgumentException>(() => AggregatorClient.Create(new AggregatorClientOptions { Contacts = Contact.ToString(), BatchMaxBytes = 126_000 }));
        Assert.Equal(nameof(AggregatorClientOptions.BatchMaxBytes), refused.ParamName);
        Assert.Contains("maximum-frame-size of actor system 'worker' (128000 bytes) with 2048 bytes to spare", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_batch_that_fits_the_frame_should_be_taken_the_largest_and_one_a_raised_frame_holds()
    {
        await using (AggregatorClient.Create(new AggregatorClientOptions { Contacts = Contact.ToString(), BatchMaxBytes = 128_000 - 2048 }))
        {
        }

        await using (AggregatorClient.Create(new AggregatorClientOptions
        {
            Contacts = Contact.ToString(),
            BatchMaxBytes = 400_000,
            AkkaConfig = "akka.remote.dot-netty.tcp.maximum-frame-size = 512000b",
        }))
        {
        }
    }

    [Fact]
    public void A_batch_larger_than_the_frame_of_the_applications_system_should_be_refused()
    {
        var refused = Assert.Throws<ArgumentException>(() => AggregatorClient.Create(new AggregatorClientOptions { ActorSystem = Sys, Contacts = Contact.ToString(), BatchMaxBytes = 200_000 }));
        Assert.Contains($"actor system '{Sys.Name}' (128000 bytes)", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_that_cannot_hold_the_largest_item_should_be_refused()
    {
        var refused = Assert.Throws<ArgumentException>(() => AggregatorClient.Create(new AggregatorClientOptions { Contacts = Contact.ToString(), BatchMaxBytes = 1000, MaxItemBytes = 1000 }));
        Assert.Contains("MaxItemBytes (1000) does not fit in one batch", refused.Message, StringComparison.Ordinal);
    }
}
