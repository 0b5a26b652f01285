using System.Text.RegularExpressions;

namespace EndToEnd.Tests;

/// <summary>
/// The programs must run the code the build compiled ahead of time for their libraries
/// (Directory.Build.targets, ReadyToRun). Nothing else says when they do not: an IL file left
/// in bin/ in place of the compiled one, or an image the runtime refuses, only makes every
/// process compile those methods again at start-up. With the IL of
/// System.Configuration.ConfigurationManager in the worker's bin/, this fails on 352 methods.
/// </summary>
public sealed partial class AheadOfTimeTests : IDisposable
{
    // Namespaces of the assemblies compiled ahead of time, as the JIT names their methods.
    private static readonly string[] Compiled =
    [
        "Akka.", "DotNetty.", "Google.Protobuf.", "System.CommandLine.", "System.Configuration.",
        "Protocol.", "Hosting.", "Actors.Client.", "Worker.", "Aggregator.", "Microsoft.Extensions.",
        "Microsoft.Data.Sqlite.", "SQLitePCL.",
    ];

    // A method of one of them can still need the JIT now and then (one that crossgen2 could
    // not compile); an image the runtime refused shows them by the hundred.
    private const int Tolerated = 25;

    private readonly string _directory = Directory.CreateTempSubdirectory("actors-aot-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Both_programs_should_run_the_code_compiled_ahead_for_their_libraries()
    {
        var aggregatorLog = Path.Combine(_directory, "aggregator.jit");
        var workerLog = Path.Combine(_directory, "worker.jit");
        await using (var aggregator = await ServedAggregator.StartWithAsync(["--in-memory"],
                         via: ["env", $"DOTNET_JitStdOutFile={aggregatorLog}", "DOTNET_JitDisasmSummary=1", "dotnet"]))
        {
            var append = await Executables.RunWorkerAsync(["append", "--aggregator", aggregator.Endpoint, "--id", "aot", "one", "two"],
                environment: new Dictionary<string, string> { ["DOTNET_JitStdOutFile"] = workerLog, ["DOTNET_JitDisasmSummary"] = "1" });
            Assert.True(append.ExitCode == 0, append.Stderr);

            // Stopped, not killed: the runtime writes the summary's last lines at exit.
            aggregator.Process.Signal(15);
            var stopped = await aggregator.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(stopped.ExitCode == 0, stopped.Stderr);
        }

        AssertCompiledAhead("Worker", workerLog);
        AssertCompiledAhead("Aggregator", aggregatorLog);
    }

    private static void AssertCompiledAhead(string program, string log)
    {
        Assert.True(File.Exists(log), $"{program} wrote no JIT summary to {log}");
        var jitted = File.ReadLines(log).Select(line => JitLine().Match(line)).Where(m => m.Success).ToList();
        Assert.True(jitted.Count > 100, $"{program}'s JIT summary lists {jitted.Count} methods: not a summary of a whole run");

        // Methods of our libraries' own, non-generic types that were compiled at the first tier:
        // ahead-of-time code would have served them (generic instantiations over other
        // assemblies' types cannot be compiled ahead; later tiers are the JIT's by design).
        var unexpected = jitted
            .Where(m => m.Groups["tier"].Value == "Tier0" && !m.Groups["type"].Value.Contains('`') && !m.Groups["method"].Value.Contains('['))
            .Select(m => m.Groups["type"].Value)
            .Select(type => (Type: type, Prefix: Compiled.FirstOrDefault(p => type.StartsWith(p, StringComparison.Ordinal))))
            .Where(t => t.Prefix is not null)
            .GroupBy(t => t.Prefix!)
            .Where(g => g.Count() > Tolerated)
            .Select(g => $"{g.Key}* {g.Count()} methods, e.g. {string.Join(", ", g.Select(t => t.Type).Distinct().Take(3))}")
            .ToList();
        Assert.True(unexpected.Count == 0,
            $"{program}: the JIT compiled at start-up what the build had compiled ahead: {string.Join("; ", unexpected)}");
    }

    // "  12: JIT compiled Namespace.Type:Method(args) [Tier0, IL size=7, code size=35]"
    [GeneratedRegex(@"JIT compiled (?<type>[^:\s]+):(?<method>[^(]*)\(.*\[(?<tier>[^,\]]+)")]
    private static partial Regex JitLine();
}
