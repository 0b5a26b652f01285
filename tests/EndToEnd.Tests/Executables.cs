using System.Reflection;

namespace EndToEnd.Tests;

/// <summary>The built executables, started as real OS processes.</summary>
internal static class Executables
{
    public static string Aggregator { get; } = Built(Metadata("AggregatorDll"));

    public static string Worker { get; } = Built(Metadata("WorkerDll"));

    /// <summary>The repository's root directory (for scripts such as bench/run.sh).</summary>
    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    /// <summary>The build configuration the executables were built with (Debug, Release).</summary>
    public static string Configuration { get; } = Metadata("Configuration");

    public static RunningProcess StartAggregator(params string[] args) => RunningProcess.Start(Aggregator, args);

    public static RunningProcess StartWorker(params string[] args) => RunningProcess.Start(Worker, args);

    /// <summary>
    /// Runs a worker to its end (bounded) and returns its exit code and output: the caller
    /// asserts the exit code (<see cref="ServedAggregator.WorkerAsync"/> asserts success).
    /// </summary>
    public static async Task<Completed> RunWorkerAsync(string[] args, string? stdin = null, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using var worker = RunningProcess.StartProgram("dotnet", [Worker, .. args], stdin is not null, environment);
        if (stdin is not null)
        {
            await worker.WriteStdinAndCloseAsync(stdin, limit); // within the same bound: a worker that stops reading fails here
        }

        return await worker.WaitForExitAsync(limit - started.Elapsed > TimeSpan.FromSeconds(1) ? limit - started.Elapsed : TimeSpan.FromSeconds(1));
    }

    /// <summary>A TCP port free on loopback now, below the ephemeral range, never handed out twice (<see cref="TestSupport.FreePorts"/>).</summary>
    public static int FreePort() => TestSupport.FreePorts.Next();

    private static string Metadata(string key) =>
        typeof(Executables).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private static string Built(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built: run dotnet build first", path);
}

/// <param name="Elapsed">from the start of the process to its end (and its output's).</param>
internal sealed record Completed(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    /// <summary>
    /// Stdout's lines, empty ones included (an empty item is a line of its own): only the
    /// empty string after the final newline is dropped. No output at all is no line.
    /// </summary>
    public string[] Lines => Stdout.Length == 0 ? [] : Stdout.EndsWith('\n') ? Stdout[..^1].Split('\n') : Stdout.Split('\n');
}
