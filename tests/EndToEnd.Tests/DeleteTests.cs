using static EndToEnd.Tests.KillScenario;

namespace EndToEnd.Tests;

/// <summary>
/// Delete means gone, with real processes: workers streaming into a journaled list when it
/// is deleted stop naming the deletion, nothing they sent comes back (not even after a
/// SIGKILL and restart of the aggregator), and a re-run starts the list afresh.
/// </summary>
public sealed class DeleteTests : IDisposable
{
    private readonly ItemFiles _files = new();

    [Fact]
    public async Task Workers_appending_to_a_list_that_is_deleted_should_stop_naming_the_deletion_and_leave_it_empty()
    {
        const int half = 100_000;
        var port = Executables.FreePort();
        var data = Path.Combine(_files.Directory, "data");
        var aggregator = await ServedAggregator.StartDurableAsync(data, port);
        var producers = new[] { "dela", "delb", "delc" };

        // The workers read stdin, so the test decides when they are mid-stream: half of each
        // input before the delete, the other half after it.
        var workers = producers.Select(p => RunningProcess.Start(Executables.Worker,
            ["append", "--aggregator", aggregator.Endpoint, "--list", "doomed", "--id", p, "-"], redirectStdin: true)).ToArray();
        try
        {
            foreach (var (worker, producer) in workers.Zip(producers))
            {
                await worker.WriteStdinAsync(Lines(ItemFiles.Items(producer, half)));
            }

            await aggregator.WaitForCountAsync("doomed", atLeast: 3 * 16_384, Long);
            var delete = await aggregator.WorkerAsync("delete", "--list", "doomed");
            Assert.True(delete.ExitCode == 0, delete.Stderr);
            Assert.Equal("deleted list 'doomed'", delete.Stdout.Trim());
            foreach (var (worker, producer) in workers.Zip(producers))
            {
                try
                {
                    await worker.WriteStdinAndCloseAsync(Lines(ItemFiles.Items(producer, 2 * half).Skip(half)));
                }
                catch (IOException)
                {
                    // The worker already stopped: told of the delete by a batch of the first half.
                }
            }

            var runs = await Task.WhenAll(workers.Select(w => w.WaitForExitAsync(Long)));
            foreach (var (run, producer) in runs.Zip(producers))
            {
                Assert.True(run.ExitCode == 1, $"{producer} exited {run.ExitCode}: {run.Stderr}");
                Assert.Matches($@"append to list 'doomed' as producer '{producer}' failed: list 'doomed' was deleted while this worker appended to it \(\d+ items acknowledged before\)",
                    run.Stderr);
            }

            Assert.Equal(0, Count(await aggregator.WorkerAsync("count", "--list", "doomed")));

            // Nothing comes back after a crash either.
            await aggregator.DisposeAsync();
            aggregator = await ServedAggregator.StartDurableAsync(data, port);
            Assert.Equal(0, Count(await aggregator.WorkerAsync("count", "--list", "doomed")));

            // A re-run with the same id starts a fresh list from its first item.
            var file = _files.Write("dela.txt", "dela", 2 * half);
            var rerun = await aggregator.WorkerAsync("append", "--list", "doomed", "--id", "dela", "--file", file, "--json");
            Assert.Equal(2 * half, Summary(rerun, "appended"));
            Assert.Equal(0, Summary(rerun, "alreadyStored"));
            Assert.Equal(ItemFiles.Items("dela", 2 * half), await ReadAllAsync(aggregator, "doomed"));
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }

            await aggregator.DisposeAsync();
        }
    }

    private static string Lines(IEnumerable<string> items) => string.Concat(items.Select(i => i + "\n"));

    public void Dispose() => _files.Dispose();
}
