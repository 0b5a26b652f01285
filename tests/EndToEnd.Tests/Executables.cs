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
        await using var worker = RunningProcess.StartProgram("dotnet", [Worker, .. args], stdin is not null, environment);
        if (stdin is not null)
        {
            await worker.WriteStdinAndCloseAsync(stdin);
        }

        return await worker.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// A TCP port free on loopback now, below the kernel's range for outgoing connections
    /// (<c>net.ipv4.ip_local_port_range</c>): a node killed and restarted on it cannot find it
    /// taken meanwhile by some process's outgoing connection, as a port the kernel picks can be.
    /// Never the same port twice in one run of the tests.
    /// </summary>
    public static int FreePort()
    {
        lock (HandedOut)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(20_000, EphemeralPorts.Value);
                if (HandedOut.Contains(port))
                {
                    continue;
                }

                try
                {
                    using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                    listener.Start();
                }
                catch (System.Net.Sockets.SocketException)
                {
                    continue; // in use
                }

                HandedOut.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException("no free TCP port found below the ephemeral range in 1000 tries");
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>The first port of the kernel's range for outgoing connections (32768 when it cannot be read).</summary>
    private static readonly Lazy<int> EphemeralPorts = new(() =>
    {
        try
        {
            var first = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0];
            return Math.Max(int.Parse(first, System.Globalization.CultureInfo.InvariantCulture), 21_000);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 32_768;
        }
    });

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
