using Akka.Actor;
using Akka.Configuration;
using Google.Protobuf;
using Protocol;
using Protocol.Messages;

namespace EndToEnd.Tests;

/// <summary>
/// The aggregator's limits against a client that skips the worker's own checks: a foreign
/// actor system that speaks the protocol. Each request gets a refusal naming its reason;
/// everyone else is served and nothing already stored changes.
/// </summary>
public sealed class LimitTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("e2e-limits").FullName;

    [Fact]
    public async Task The_aggregator_should_refuse_requests_over_its_limits_and_keep_serving_everyone_else()
    {
        var config = Path.Combine(_directory, "aggregator.hocon");
        await File.WriteAllTextAsync(config, await File.ReadAllTextAsync(Path.Combine(Executables.RepositoryRoot, "config", "aggregator.hocon"))
            + "\nactors.aggregator { max-lists = 3, max-producers-per-list = 2 }\n");
        await using var aggregator = await ServedAggregator.StartWithAsync(["--in-memory", "--config", config]);
        var client = ActorSystem.Create("rogue", BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0, maximum-frame-size = 1000000b }
            akka.loglevel = WARNING
            akka.coordinated-shutdown.exit-clr = off
            """)).And(ProtocolSerializer.Setup));
        try
        {
            var lists = (await client.ActorSelection(aggregator.Address + "/user/lists")
                .Ask<ActorIdentity>(new Identify(1), TimeSpan.FromSeconds(20))).Subject ?? throw new InvalidOperationException("no lists actor");

            async Task<object> Send(string list, string producer, uint count, ByteString items, ulong offset = 0) =>
                await lists.Ask<object>(new AppendBatch { List = list, Producer = producer, FirstOffset = offset, Count = count, Items = items },
                    TimeSpan.FromSeconds(20));

            // p1's next offset in l1 is 1: a batch at 0 would be a duplicate, acknowledged unread.
            async Task<Refusal> Refused(string list, string producer, uint count, ByteString items) =>
                Assert.IsType<AppendRefused>(await Send(list, producer, count, items, list == "l1" && producer == "p1" ? 1ul : 0ul)).Reason;

            Assert.IsType<BatchAppended>(await Send("l1", "p1", 1, PackedItems.Encode(["a"])));
            Assert.IsType<BatchAppended>(await Send("l1", "p2", 1, PackedItems.Encode(["b"])));
            Assert.IsType<BatchAppended>(await Send("l2", "p1", 1, PackedItems.Encode(["c"])));
            Assert.IsType<BatchAppended>(await Send("l3", "p1", 1, PackedItems.Encode(["d"])));

            Assert.Equal(Refusal.ItemTooLarge, await Refused("l1", "p1", 1, PackedItems.Encode([new string('x', 65_537)])));
            Assert.Equal(Refusal.BatchTooLarge, await Refused("l1", "p1", 2, PackedItems.Encode([new string('x', 60_000), new string('y', 60_001)])));
            Assert.Equal(Refusal.MalformedBatch, await Refused("l1", "p1", 3, PackedItems.Encode(["only", "two"])));
            Assert.Equal(Refusal.InvalidUtf8, await Refused("l1", "p1", 1, ByteString.CopyFrom(2, 0xC3, 0x28)));
            Assert.Equal(Refusal.InvalidName, await Refused("no/slash", "p1", 1, PackedItems.Encode(["e"])));
            Assert.Equal(Refusal.InvalidName, await Refused("l1", "", 1, PackedItems.Encode(["e"])));
            Assert.Equal(Refusal.TooManyProducers, await Refused("l1", "p3", 1, PackedItems.Encode(["e"])));
            Assert.Equal(Refusal.TooManyLists, await Refused("l4", "p1", 1, PackedItems.Encode(["e"])));
            var unknown = Assert.IsType<Protocol.Messages.Range>(await lists.Ask<object>(new GetRange { List = "l5" }, TimeSpan.FromSeconds(20)));
            Assert.Equal(0ul, unknown.Length);
        }
        finally
        {
            await client.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }

        var worker = await aggregator.WorkerAsync("append", "--list", "l2", "from-a-worker");
        var l1 = await aggregator.WorkerAsync("get", "--list", "l1");
        var l2 = await aggregator.WorkerAsync("get", "--list", "l2");
        var tooMany = await aggregator.UncheckedWorkerAsync("append", "--list", "l4", "x");

        Assert.Equal(0, worker.ExitCode);
        Assert.Equal(["a", "b"], l1.Lines);
        Assert.Equal(["c", "from-a-worker"], l2.Lines);
        Assert.Equal(1, tooMany.ExitCode);
        Assert.Contains("the aggregator already holds 3 lists; the limit is 3 (max-lists)", tooMany.Stderr);
        Assert.Contains("the limit is 65536", aggregator.Process.Stderr);
        Assert.DoesNotContain("   at ", aggregator.Process.Stderr);
    }

    [Fact]
    public async Task A_worker_should_exit_3_with_the_acknowledged_count_when_the_aggregator_vanishes_for_good()
    {
        using var files = new ItemFiles();
        var input = files.Write("items.txt", "gone", 1_000_000);
        // One small batch in flight at a time: the run takes far longer than the kill below.
        var config = Path.Combine(_directory, "slow-worker.hocon");
        await File.WriteAllTextAsync(config, await File.ReadAllTextAsync(Path.Combine(Executables.RepositoryRoot, "config", "worker.hocon"))
            + "\nactors.worker { batch-max-items = 100, max-in-flight = 1 }\n");
        await using var aggregator = await ServedAggregator.StartAsync();
        await using var follow = await KillScenario.FollowAsync(aggregator, "gone");
        await using var worker = Executables.StartWorker("append", "--aggregator", aggregator.Endpoint, "--list", "gone",
            "--connect-timeout", "3", "--config", config, "--file", input);
        await follow.ReadLineAsync(KillScenario.Long);

        var sinceKill = System.Diagnostics.Stopwatch.StartNew();
        await aggregator.DisposeAsync(); // SIGKILL, and it never comes back
        var run = await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(3, run.ExitCode);
        Assert.InRange(sinceKill.Elapsed, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(60)); // the whole --connect-timeout, from the loss
        var said = System.Text.RegularExpressions.Regex.Match(run.Stderr, @"did not answer within 3 s.*; (\d+) items of this run's input acknowledged");
        Assert.True(said.Success, run.Stderr);
        Assert.InRange(long.Parse(said.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1, 999_999);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
