using System.Globalization;

namespace EndToEnd.Tests;

/// <summary>
/// The benchmark harness, run small (a few thousand items, no peers) against the built
/// executables, so that it does not rot. Its figures are not judged here: only that every
/// measure produced a number. The full run is bench/run.sh, outside the tests.
/// </summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task Bench_smoke_run_should_measure_every_row_against_the_built_executables()
    {
        await using var bench = RunningProcess.StartProgram("bash", [Path.Combine(Executables.RepositoryRoot, "bench", "run.sh"), "--smoke"],
            environment: new Dictionary<string, string>
            {
                ["BENCH_NO_BUILD"] = "1",
                ["BENCH_CONFIGURATION"] = Executables.Configuration,
            });

        var run = await bench.WaitForExitAsync(TimeSpan.FromMinutes(5));

        Assert.True(run.ExitCode == 0, run.Stderr);
        var rows = run.Lines.Where(l => l.StartsWith("| ", StringComparison.Ordinal)).Skip(1).ToArray();
        // The two cluster rows need PostgreSQL (.ci/run provides it); without it the harness says it skips them.
        Assert.Equal(PostgresFactAttribute.ConnectionString is null ? 34 : 36, rows.Length);
        Assert.All(rows, row =>
        {
            var ours = row.Split('|')[2].Trim().TrimEnd('k', 'M');
            Assert.True(double.TryParse(ours, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0,
                $"no figure in: {row}");
        });
        Assert.Contains(rows, r => r.Contains("recovery of 5.0k journaled items", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("Akka.Remote's own round trip in the same run", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("against the same Identify round trip, p99", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("AOF always", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("the same with the workstation GC, DOTNET_gcServer=0", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("the next 5.0k items into the same list", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("library: 8 producers in one process vs 2, durable", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("library: one AppendAsync call of one item, acknowledged, p99", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("recovery of 40.0k journaled items", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("through our gateway", StringComparison.Ordinal) && r.Contains("(Akka ClusterClient)", StringComparison.Ordinal));
        if (PostgresFactAttribute.ConnectionString is not null)
        {
            Assert.Contains(rows, r => r.Contains("cluster: failover, SIGKILL of a list's node", StringComparison.Ordinal));
        }
    }
}
