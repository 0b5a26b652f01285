using System.Globalization;
using static EndToEnd.Tests.KillScenario;

namespace EndToEnd.Tests;

/// <summary>
/// The journal in PostgreSQL, selected by configuration alone. Runs when ACTORS_TEST_POSTGRES
/// holds a connection string (.ci/run starts a server on 127.0.0.1 and sets it).
/// </summary>
public sealed class PostgresTests : IDisposable
{
    private readonly ItemFiles _files = new();

    [PostgresFact]
    public async Task Workers_should_finish_across_a_SIGKILL_of_an_aggregator_journaling_in_PostgreSQL()
    {
        const int perWorker = 100_000;
        var config = WriteConfig(PostgresFactAttribute.ConnectionString!);
        var list = $"pg-{Guid.NewGuid():N}";
        var port = Executables.FreePort();
        await using var aggregator = await ServedAggregator.StartWithAsync(["--config", config], port);
        await aggregator.Process.WaitForStderrAsync("journaled in PostgreSQL at 127.0.0.1", Long);
        var workers = Enumerable.Range(0, 2).Select(w => ($"pg{w}", _files.Write($"pg{w}.txt", $"pg{w}", perWorker))).ToArray();

        var (runs, restarted) = await AppendAcrossAnAggregatorKillAsync(aggregator,
            () => ServedAggregator.StartWithAsync(["--config", config], port), list, workers);
        await using var restartedScope = restarted;

        Assert.All(runs, r => Assert.True(r.ExitCode == 0, r.Stderr));
        Assert.All(runs, r => Assert.Equal(perWorker, Summary(r, "appended") + Summary(r, "duplicates") + Summary(r, "alreadyStored")));
        AssertEachProducerOnceInOrder(await ReadAllAsync(restarted, list), ["pg0", "pg1"], perWorker);
        Assert.Equal(0, (await restarted.WorkerAsync("delete", "--list", list)).ExitCode);

        // Stopped as an operator would: it gives its database's lease up (a SIGKILL leaves it to lapse).
        restarted.Process.Signal(15);
        Assert.Equal(0, (await restarted.Process.WaitForExitAsync(Long)).ExitCode);
    }

    [PostgresFact]
    public async Task A_second_lone_aggregator_on_the_database_should_be_refused_and_a_paused_one_stop_once_its_lease_is_taken()
    {
        var config = WriteConfig(PostgresFactAttribute.ConnectionString!);
        // Long enough for the next aggregator to start and see the paused one's lease before it lapses, on a slow machine.
        File.AppendAllText(config, "\nactors.aggregator.database-lease = 10s\n");
        var (first, second, third) = (Executables.FreePort(), Executables.FreePort(), Executables.FreePort());
        await using var holder = await ServedAggregator.StartWithAsync(["--config", config], first);

        await AssertRefusedAsync(["serve", "--port", second.ToString(CultureInfo.InvariantCulture), "--config", config],
            $"another aggregator uses this PostgreSQL database: {Environment.MachineName}/127.0.0.1:{first} (process {holder.Process.Id}), which renews its lease");

        // Paused past its lease (as a VM is frozen): the next aggregator takes the lease when it
        // lapses; the first, woken, finds it taken and stops.
        holder.Process.Signal(19);
        try
        {
            await using var next = await ServedAggregator.StartWithAsync(["--config", config], third);
            Assert.Contains($"lease is held by {Environment.MachineName}/127.0.0.1:{first}", next.Process.Stderr);
            holder.Process.Signal(18);
            var stopped = await holder.Process.WaitForExitAsync(Long);
            Assert.True(stopped.ExitCode == 1, stopped.Stderr);
            Assert.Contains("Aggregator: another aggregator took this one's lease on its PostgreSQL database", stopped.Stderr);
            Assert.DoesNotContain("   at ", stopped.Stderr);

            await next.WorkerAsync("append", "--list", $"lease-{Guid.NewGuid():N}", "--id", "w", "x");
            next.Process.Signal(15);
            Assert.Equal(0, (await next.Process.WaitForExitAsync(Long)).ExitCode);
        }
        finally
        {
            if (!holder.Process.HasExited)
            {
                holder.Process.Signal(18);
            }
        }
    }

    [PostgresFact]
    public async Task A_lone_aggregator_and_a_cluster_should_be_refused_on_one_database()
    {
        var config = WriteConfig(PostgresFactAttribute.ConnectionString!);
        var (lonePort, nodePort, clusterPort) = (Executables.FreePort(), Executables.FreePort(), Executables.FreePort());
        var cluster = $"127.0.0.1:{clusterPort}";
        string[] node = ["--cluster", "--seed", cluster, "--cluster-port", clusterPort.ToString(CultureInfo.InvariantCulture), "--config", config];

        await using (var lone = await ServedAggregator.StartWithAsync(["--config", config], lonePort))
        {
            await AssertRefusedAsync(["serve", "--port", nodePort.ToString(CultureInfo.InvariantCulture), .. node],
                $"a lone aggregator uses this PostgreSQL database: {Environment.MachineName}/127.0.0.1:{lonePort} (process {lone.Process.Id}), which renews its lease");

            // Stopped as an operator would: it gives its lease up, and the node starts at once.
            lone.Process.Signal(15);
            Assert.Equal(0, (await lone.Process.WaitForExitAsync(Long)).ExitCode);
        }

        await using var first = await ServedAggregator.StartWithAsync(node, nodePort);
        Assert.DoesNotContain("lease is held by", first.Process.Stderr);
        var list = $"mix-{Guid.NewGuid():N}";
        await first.WorkerAsync("append", "--list", list, "--id", "w", "x");

        await AssertRefusedAsync(["serve", "--port", lonePort.ToString(CultureInfo.InvariantCulture), "--config", config],
            $"a cluster uses this PostgreSQL database: its node {Environment.MachineName}/{cluster} (process {first.Process.Id}) renews its lease");

        await first.WorkerAsync("delete", "--list", list);
        first.Process.Signal(15);
        Assert.Equal(0, (await first.Process.WaitForExitAsync(Long)).ExitCode);
    }

    [Fact]
    public async Task An_unreachable_PostgreSQL_should_stop_the_aggregator_with_a_message()
    {
        var config = WriteConfig($"Host=127.0.0.1;Port={Executables.FreePort()};Username=nobody;Database=none;Timeout=5");
        await using var aggregator = Executables.StartAggregator("serve", "--port", "0", "--config", config);

        var run = await aggregator.WaitForExitAsync(Long);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("cannot use the journal in PostgreSQL at 127.0.0.1:", run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    public void Dispose() => _files.Dispose();

    /// <summary>Runs the aggregator with <paramref name="args"/>: it must stop with exit 1 and <paramref name="message"/>, no stack trace, nothing on stdout.</summary>
    private static async Task AssertRefusedAsync(string[] args, string message)
    {
        await using var refused = Executables.StartAggregator(args);
        var run = await refused.WaitForExitAsync(Long);
        Assert.True(run.ExitCode == 1, run.Stderr);
        Assert.Contains(message, run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    private string WriteConfig(string connectionString) => PostgresFactAttribute.WriteConfig(_files.Directory, connectionString);
}

/// <summary>A fact that needs a PostgreSQL server: skipped, saying why, when none is configured.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public const string Variable = "ACTORS_TEST_POSTGRES";

    public PostgresFactAttribute()
    {
        if (ConnectionString is null)
        {
            Skip = SkipReason;
        }
    }

    /// <summary>Why such a test is skipped, and the one command that runs it.</summary>
    public static string SkipReason =>
        $"no PostgreSQL server: set {Variable} to an Npgsql connection string; to run it: {Variable}=$(.ci/postgres start /tmp/actors-pg 54329) dotnet test (.ci/run does)";

    public static string? ConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value ? value : null;

    /// <summary>
    /// The shipped aggregator.hocon with the journal switched to PostgreSQL (configuration
    /// alone), written in <paramref name="directory"/>; its path. The database's lease is 3 s:
    /// the cluster nodes the tests kill leave their leases to lapse, and a lone aggregator
    /// started next on the database waits for that.
    /// </summary>
    public static string WriteConfig(string directory, string connectionString)
    {
        var shipped = File.ReadAllText(Path.Combine(Path.GetDirectoryName(Executables.Aggregator)!, "aggregator.hocon"));
        var quoted = $"\"{connectionString}\"";
        var path = Path.Combine(directory, "postgres.hocon");
        File.WriteAllText(path, $$"""
            {{shipped}}
            akka.persistence.journal.sql { provider-name = "PostgreSQL.15", connection-string = {{quoted}} }
            actors.aggregator.database-lease = 3s
            """);
        return path;
    }
}
