using Akka.Actor;
using Aggregator;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Tests;

/// <summary>A second actor system, over loopback TCP, appends and reads back through the real transport.</summary>
public sealed class RemoteSpecs : Akka.TestKit.Xunit2.TestKit
{
    public RemoteSpecs(ITestOutputHelper output) : base(Specs.System(ActorNames.AggregatorSystem), output)
    {
    }

    [Fact]
    public async Task LocalLists_should_serve_a_worker_system_over_tcp()
    {
        var address = ((ExtendedActorSystem)Sys).Provider.DefaultAddress;
        var worker = ActorSystem.Create(ActorNames.WorkerSystem, Specs.Setup());
        try
        {
            var path = ActorNames.ListsPath(address.Host!, address.Port!.Value);
            var identity = await worker.ActorSelection(path).Ask<ActorIdentity>(new Identify(1), RemainingOrDefault);
            var lists = identity.Subject ?? throw new InvalidOperationException($"nothing at {path}");
            Assert.Equal(address, lists.Path.Address);

            var ack = await lists.Ask<BatchAppended>(Specs.Batch("remote", "w", 0, "x", "y"), RemainingOrDefault);
            var page = await lists.Ask<ItemRange>(new GetRange { List = "remote" }, RemainingOrDefault);

            Assert.Equal(2ul, ack.NextOffset);
            Assert.Equal(["x", "y"], PackedItems.Decode(page.Items.Span));
        }
        finally
        {
            await worker.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }
}
