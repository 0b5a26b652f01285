using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using static EndToEnd.Tests.KillScenario;

namespace EndToEnd.Tests;

/// <summary>
/// The journaled aggregator under SIGKILL: of the aggregator mid-stream, of a worker mid-stream,
/// and of the aggregator right after an acknowledgement. Every item of every worker is in the
/// list exactly once, in its worker's order; nothing acknowledged is lost.
/// </summary>
public sealed class DurableTests : IDisposable
{
    private readonly ItemFiles _files = new();

    private string Data => Path.Combine(_files.Directory, "data");

    [Fact]
    public async Task Three_workers_should_finish_across_an_aggregator_SIGKILL_with_every_item_exactly_once_in_order()
    {
        const int perWorker = 200_000;
        var port = Executables.FreePort();
        await using var aggregator = await ServedAggregator.StartDurableAsync(Data, port);
        var workers = Enumerable.Range(0, 3).Select(w => ($"w{w}", _files.Write($"w{w}.txt", $"w{w}", perWorker))).ToArray();

        var (runs, restarted) = await AppendAcrossAnAggregatorKillAsync(aggregator,
            () => ServedAggregator.StartDurableAsync(Data, port), "faults", workers);
        await using var restartedScope = restarted;

        Assert.All(runs, r => Assert.True(r.ExitCode == 0, r.Stderr));
        var recovered = RecoveredItems(restarted, "faults");
        Assert.True(recovered is > 0 and < 3 * perWorker, $"the aggregator was killed after {recovered} items, not mid-stream");
        Assert.All(runs, r => Assert.Equal(perWorker, Summary(r, "appended") + Summary(r, "duplicates") + Summary(r, "alreadyStored")));
        AssertEachProducerOnceInOrder(await ReadAllAsync(restarted, "faults"), ["w0", "w1", "w2"], perWorker);
    }

    [Fact]
    public async Task Worker_killed_mid_stream_and_rerun_after_an_aggregator_SIGKILL_should_add_each_item_once()
    {
        const int total = 1_000_000;
        var port = Executables.FreePort();
        await using var aggregator = await ServedAggregator.StartDurableAsync(Data, port);
        var file = _files.Write("victim.txt", "vict", total);

        // The victim reads stdin, which stays open: it is mid-stream when killed, however fast it is.
        await using (var victim = RunningProcess.Start(Executables.Worker,
                         ["append", "--aggregator", aggregator.Endpoint, "--list", "victim", "--id", "v", "-"], redirectStdin: true))
        {
            await victim.WriteStdinAsync(string.Concat(ItemFiles.Items("vict", total / 2).Select(i => i + "\n")));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Count(await aggregator.WorkerAsync("count", "--list", "victim")) < 16_384)
            {
                Assert.True(clock.Elapsed < Long, "the victim stored nothing");
            }

            victim.Kill();
        }

        var before = Count(await aggregator.WorkerAsync("count", "--list", "victim"));
        await aggregator.DisposeAsync();
        await using var restarted = await ServedAggregator.StartDurableAsync(Data, port);
        var rerun = await restarted.WorkerAsync("append", "--list", "victim", "--id", "v", "--file", file, "--json");

        Assert.True(before is > 0 and <= total / 2, $"the worker was killed after {before} items, of the {total / 2} it was given");
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        Assert.Equal(before, Summary(rerun, "alreadyStored"));
        Assert.Equal(0, Summary(rerun, "duplicates"));
        Assert.Equal(total - before, Summary(rerun, "appended"));
        Assert.Equal(ItemFiles.Items("vict", total), await ReadAllAsync(restarted, "victim"));
    }

    [Fact]
    public async Task Items_acknowledged_right_before_an_aggregator_SIGKILL_should_all_be_there_after_restart()
    {
        var port = Executables.FreePort();
        var aggregator = await ServedAggregator.StartDurableAsync(Data, port);
        try
        {
            var expected = new List<string>();
            for (var round = 0; round < 3; round++)
            {
                var prefix = $"ack{round}";
                var file = _files.Write($"{prefix}.txt", prefix, 30_000);
                await using var worker = Executables.StartWorker("append", "--aggregator", aggregator.Endpoint, "--list", "acked",
                    "--id", prefix, "--file", file, "--json");

                // The summary is printed once the last batch is acknowledged: kill at once.
                var summary = await worker.ReadLineAsync(Long);
                await aggregator.DisposeAsync();
                expected.AddRange(ItemFiles.Items(prefix, 30_000));

                Assert.Equal(30_000, JsonDocument.Parse(summary).RootElement.GetProperty("appended").GetInt64());
                var end = await worker.WaitForExitAsync(Long); // its work was done before the kill
                Assert.True(end.ExitCode == 0, end.Stderr);
                aggregator = await ServedAggregator.StartDurableAsync(Data, port);
                Assert.Equal(expected.Count, Count(await aggregator.WorkerAsync("count", "--list", "acked")));
            }

            Assert.Equal(expected, await ReadAllAsync(aggregator, "acked"));
        }
        finally
        {
            // The one running now, or (if its restart failed) the one already killed: a second dispose does nothing.
            await aggregator.DisposeAsync();
        }
    }

    /// <summary>
    /// A list past every single-array limit, at a size CI affords: with 4 KiB segments in
    /// memory, 1.2 million 13-byte items make about 4,100 segments, the code paths of a list
    /// of 200 million items with the shipped 1 MiB segments (<c>bench/run.sh --big</c> runs
    /// that one). Three rounds of four workers, each resuming where its producer id stopped;
    /// the aggregator is SIGKILLed after the first round and right after the third round's
    /// last acknowledgement, and recovers every item from its events each time.
    /// </summary>
    [Fact]
    public async Task A_list_of_thousands_of_segments_should_be_whole_after_an_aggregator_SIGKILL_right_after_its_last_acknowledgement()
    {
        const int perRound = 100_000;
        const int rounds = 3;
        var config = Path.Combine(_files.Directory, "small-segments.hocon");
        await File.WriteAllTextAsync(config, "actors.aggregator { segment-bytes = 4096 }\n");
        string[] options = ["--data", Data, "--config", config];
        var port = Executables.FreePort();
        string[] prefixes = ["big0", "big1", "big2", "big3"];
        for (var round = 1; round <= rounds; round++)
        {
            // Each round ends with a SIGKILL (the dispose) right after the workers' last
            // acknowledgements, which their summaries follow; the next round starts on the
            // list recovered from its events.
            await using var aggregator = await ServedAggregator.StartWithAsync(options, port);
            await AppendRoundAsync(aggregator, round);
            if (round > 1)
            {
                await AssertRecoveredAsync(aggregator, 4 * (round - 1) * perRound);
            }
        }

        const int total = 4 * rounds * perRound;
        await using var restarted = await ServedAggregator.StartWithAsync(options, port);
        Assert.Equal(total, Count(await restarted.WorkerAsync("count", "--list", "big")));
        await AssertRecoveredAsync(restarted, total);

        var all = await ReadAllAsync(restarted, "big");
        AssertEachProducerOnceInOrder(all, prefixes, rounds * perRound);
        Assert.Equal(all[^7..], (await restarted.WorkerAsync("get", "--list", "big", "--from", $"{total - 7}")).Lines);
        Assert.Equal(all[500_000..500_003], (await restarted.WorkerAsync("get", "--list", "big", "--from", "500000", "--count", "3")).Lines);

        await using var follow = Executables.StartWorker("follow", "--aggregator", restarted.Endpoint, "--list", "big", "--from", $"{total - 2}");
        Assert.Equal(all[^2], await follow.ReadLineAsync(Long));
        Assert.Equal(all[^1], await follow.ReadLineAsync(Long));
        await restarted.WorkerAsync("append", "--list", "big", "--id", "late", "--file", _files.Write("late.txt", "late", 1));
        Assert.Equal("late-00000000", await follow.ReadLineAsync(Long));

        async Task AppendRoundAsync(ServedAggregator aggregator, int round)
        {
            var runs = await Task.WhenAll(prefixes.Select(prefix => aggregator.WorkerAsync("append", "--list", "big", "--id", prefix,
                "--file", _files.Write($"{prefix}-{round}.txt", prefix, round * perRound), "--json")));
            Assert.All(runs, r => Assert.Equal((perRound, (round - 1) * perRound), (Summary(r, "appended"), Summary(r, "alreadyStored"))));
        }

        // The recovery line of the list: every item (13 bytes and its length), from events of up to 16,384 items each.
        static async Task AssertRecoveredAsync(ServedAggregator aggregator, long items)
        {
            await aggregator.Process.WaitForStderrAsync("Recovered list big:", Long);
            var recovery = Regex.Match(aggregator.Process.Stderr, @"Recovered list big: (\d+) items \((\d+) bytes\), 4 producers, (\d+) events");
            Assert.True(recovery.Success, aggregator.Process.Stderr);
            Assert.Equal(items, long.Parse(recovery.Groups[1].Value, CultureInfo.InvariantCulture));
            Assert.Equal(items * 14, long.Parse(recovery.Groups[2].Value, CultureInfo.InvariantCulture));
            Assert.True(long.Parse(recovery.Groups[3].Value, CultureInfo.InvariantCulture) >= items / 16_384, recovery.Value);
        }
    }

    [Fact]
    public async Task Delete_should_survive_a_restart_and_forget_the_producer_positions()
    {
        var port = Executables.FreePort();
        await using (var first = await ServedAggregator.StartDurableAsync(Data, port))
        {
            await first.WorkerAsync("append", "--list", "tmp", "--id", "p", "a", "b");
            await first.WorkerAsync("delete", "--list", "tmp");
            first.AssertNoErrorsOrWarnings();
        }

        Completed again;
        await using (var second = await ServedAggregator.StartDurableAsync(Data, port))
        {
            Assert.Equal(0, Count(await second.WorkerAsync("count", "--list", "tmp")));
            again = await second.WorkerAsync("append", "--list", "tmp", "--id", "p", "c", "--json");
            second.AssertNoErrorsOrWarnings();
        }

        await using var last = await ServedAggregator.StartDurableAsync(Data, port);

        Assert.Equal(1, Summary(again, "appended"));
        Assert.Equal(["c"], await ReadAllAsync(last, "tmp"));
        last.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task A_second_aggregator_on_the_same_data_directory_should_refuse_to_start()
    {
        await using var first = await ServedAggregator.StartDurableAsync(Data);
        await first.WorkerAsync("append", "--id", "p", "kept");

        await using var second = Executables.StartAggregator("serve", "--port", "0", "--data", Data);
        var refused = await second.WaitForExitAsync(Long);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"the data directory {Data} is in use by another aggregator", refused.Stderr);
        Assert.Empty(refused.Stdout);
        Assert.DoesNotContain("   at ", refused.Stderr);
        Assert.Equal(["kept"], await ReadAllAsync(first, "default"));
        first.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task A_corrupt_database_should_stop_the_aggregator_with_a_message_not_an_empty_list()
    {
        Directory.CreateDirectory(Data);
        var database = Path.Combine(Data, "lists.db");
        var garbage = new byte[65536];
        new Random(7).NextBytes(garbage);
        await File.WriteAllBytesAsync(database, garbage);

        var run = await RunAggregatorAsync("serve", "--port", "0", "--data", Data);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"the database {database}", run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    [Fact]
    public async Task A_data_directory_that_cannot_be_created_should_stop_the_aggregator_with_a_message()
    {
        var notADirectory = Path.Combine(_files.Directory, "file");
        await File.WriteAllTextAsync(notADirectory, "x");

        var run = await RunAggregatorAsync("serve", "--port", "0", "--data", Path.Combine(notADirectory, "data"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("cannot create the data directory", run.Stderr);
        Assert.Empty(run.Stdout);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_data_directory_that_is_not_writable_should_stop_the_aggregator_with_a_message()
    {
        // Root ignores file modes: as root, the aggregator runs as 'nobody' instead.
        File.SetUnixFileMode(_files.Directory, (UnixFileMode)0b111_101_101);
        var readOnly = Path.Combine(_files.Directory, "read-only");
        Directory.CreateDirectory(readOnly);
        File.SetUnixFileMode(readOnly, (UnixFileMode)0b101_101_101);
        string[] serve = ["serve", "--port", "0", "--data", readOnly];
        var asRoot = Environment.UserName == "root";

        await using var aggregator = asRoot
            ? RunningProcess.StartProgram("runuser", ["-u", "nobody", "--", "dotnet", Executables.Aggregator, .. serve])
            : Executables.StartAggregator(serve);
        var run = await aggregator.WaitForExitAsync(Long);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"the data directory {readOnly} is not writable", run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.False(File.Exists(Path.Combine(readOnly, "lists.db")));
    }

    public void Dispose() => _files.Dispose();

    /// <summary>How many items the aggregator said it recovered for <paramref name="list"/>.</summary>
    private static long RecoveredItems(ServedAggregator aggregator, string list)
    {
        var match = Regex.Match(aggregator.Process.Stderr, $@"Recovered list {list}: (\d+) items");
        Assert.True(match.Success, $"the restarted aggregator did not recover '{list}':\n{aggregator.Process.Stderr}");
        return long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static async Task<Completed> RunAggregatorAsync(params string[] args)
    {
        await using var aggregator = Executables.StartAggregator(args);
        return await aggregator.WaitForExitAsync(Long);
    }
}
