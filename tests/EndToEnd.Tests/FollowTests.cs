using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace EndToEnd.Tests;

/// <summary>
/// The long poll under <c>follow</c>, over the wire: a request at the end of a list is held
/// until an item arrives or the list's follow-wait ends, never answered empty at once.
/// </summary>
public sealed class FollowTests : IDisposable
{
    private static readonly TimeSpan FollowWait = TimeSpan.FromSeconds(3);
    private readonly string _directory = Directory.CreateTempSubdirectory("e2e-follow").FullName;

    [Fact]
    public async Task A_request_at_the_end_of_a_list_should_be_held_for_follow_wait_or_until_an_item_arrives()
    {
        var config = Path.Combine(_directory, "aggregator.hocon");
        await File.WriteAllTextAsync(config, await File.ReadAllTextAsync(Path.Combine(Executables.RepositoryRoot, "config", "aggregator.hocon"))
            + $"\nactors.aggregator.follow-wait = {FollowWait.TotalSeconds}s\n");
        await using var aggregator = await ServedAggregator.StartWithAsync(["--in-memory", "--config", config]);
        await aggregator.WorkerAsync("append", "--list", "held", "--id", "p1", "first");
        var reader = ActorSystem.Create("reader", BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.loglevel = WARNING
            akka.coordinated-shutdown.exit-clr = off
            """)).And(ProtocolSerializer.Setup));
        try
        {
            var lists = (await reader.ActorSelection(aggregator.Address + "/user/lists")
                .Ask<ActorIdentity>(new Identify(1), TimeSpan.FromSeconds(20))).Subject ?? throw new InvalidOperationException("no lists actor");

            async Task<(ItemRange Page, TimeSpan Elapsed)> PollAsync()
            {
                var clock = Stopwatch.StartNew();
                var reply = await lists.Ask<object>(new GetRange { List = "held", From = 1, Wait = true }, TimeSpan.FromSeconds(30));
                return (Assert.IsType<ItemRange>(reply), clock.Elapsed);
            }

            // Nothing arrives: held for the whole follow-wait (checked from below), then answered empty.
            var (empty, waited) = await PollAsync();
            Assert.Equal(0u, empty.Count);
            Assert.Equal(1ul, empty.Length);
            Assert.InRange(waited, FollowWait, FollowWait + TimeSpan.FromSeconds(10));

            // An item arrives while a request is held: it answers that request. Each empty answer
            // on the way (the append took longer than follow-wait) must also have waited it out.
            var poll = PollAsync();
            var append = aggregator.WorkerAsync("append", "--list", "held", "--id", "p2", "second");
            var deadline = Stopwatch.StartNew();
            var (page, elapsed) = await poll;
            while (page.Count == 0 && deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                Assert.True(elapsed >= FollowWait, $"an empty answer after {elapsed}, before the follow-wait of {FollowWait} ended");
                (page, elapsed) = await PollAsync();
            }

            await append;
            Assert.Equal(1u, page.Count);
            Assert.Equal(2ul, page.Length);
            Assert.Equal(["second"], PackedItems.Decode(page.Items.Span));

            // Checked while this foreign reader is still connected: when its actor system
            // terminates on a loaded machine, the aggregator may log its leaving as an abrupt
            // disassociation (a warning and an error), which is about this test's client, not follow.
            aggregator.AssertNoErrorsOrWarnings();
        }
        finally
        {
            await reader.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
