using System.Text.Json;
using Xunit.Abstractions;

namespace EndToEnd.Tests;

/// <summary>
/// The README's first command as a newcomer runs it: <c>dotnet run --project src/Aggregator --
/// demo</c> in a copy of the sources with nothing built. The aggregator's build builds the
/// Worker the demo starts (it is not a ProjectReference: src/Aggregator/Aggregator.csproj), and
/// stdout holds the list alone, the first time and the next.
/// </summary>
public sealed class ReadmeCommandTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Skipped = ["bin", "obj", ".git", "TestResults", "out", "data"];

    private readonly string _directory = Directory.CreateTempSubdirectory("e2e-readme").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Dotnet_run_demo_in_an_unbuilt_copy_should_build_the_worker_and_print_only_the_list()
    {
        var copy = Path.Combine(_directory, "actors");
        CopySources(Executables.RepositoryRoot, copy);
        var worker = Path.Combine(copy, "src/Worker/bin/Debug/net10.0/Worker.dll");
        Assert.False(File.Exists(worker), "the copy has nothing built");

        foreach (var (run, bound) in new[] { ("first", TimeSpan.FromMinutes(8)), ("second", TimeSpan.FromMinutes(2)) })
        {
            await using var process = RunningProcess.StartProgram("dotnet", ["run", "--project", Path.Combine(copy, "src/Aggregator"), "--", "demo"]);
            var result = await process.WaitForExitAsync(bound);
            output.WriteLine($"{run} run: exit {result.ExitCode} after {result.Elapsed.TotalSeconds:0.0} s");
            Assert.True(result.ExitCode == 0, $"{run} dotnet run exited {result.ExitCode}:\n{result.Stdout}\n{result.Stderr}");
            var line = Assert.Single(result.Lines);
            ReferenceScenarioTests.AssertReferenceList(JsonSerializer.Deserialize<string[]>(line)!);
        }

        Assert.True(File.Exists(worker), "the demo ran a Worker built by the aggregator's build");
    }

    /// <summary>The repository's files without what builds, tests and benchmarks leave in it.</summary>
    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.EnumerateDirectories(from).Where(d => !Skipped.Contains(Path.GetFileName(d))))
        {
            CopySources(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }
}
