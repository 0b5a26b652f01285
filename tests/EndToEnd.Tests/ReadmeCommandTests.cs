using System.Text.Json;
using Xunit.Abstractions;

namespace EndToEnd.Tests;

/// <summary>
/// The README's first command as a newcomer runs it: <c>dotnet run --project src/Aggregator --
/// demo</c> in a copy of the sources with nothing built. The aggregator's build builds the
/// Worker the demo starts (it is not a ProjectReference: src/Aggregator/Aggregator.csproj), and
/// stdout holds the list alone, the first time and the next; the next run skips what has not
/// changed and redoes what has, a property given on the command line included.
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

        await RunDemo(copy, "first", TimeSpan.FromMinutes(8));
        Assert.True(File.Exists(worker), "the demo ran a Worker built by the aggregator's build");

        // With nothing changed, the second run asks neither NuGet nor the libraries' builds
        // (build/QuickRestore.targets, src/Aggregator/Aggregator.csproj): their records keep
        // the times of the first run.
        var restored = Path.Combine(copy, "src/Aggregator/obj/quick-restore.key");
        var librariesBuilt = Path.Combine(copy, "src/Aggregator/obj/Debug/net10.0/libraries.key");
        Assert.True(File.Exists(restored) && File.Exists(librariesBuilt), "the first run recorded its restore and its libraries' build");
        var (restoredAt, librariesBuiltAt) = (File.GetLastWriteTimeUtc(restored), File.GetLastWriteTimeUtc(librariesBuilt));
        await RunDemo(copy, "second", TimeSpan.FromMinutes(2));
        Assert.Equal(restoredAt, File.GetLastWriteTimeUtc(restored));
        Assert.Equal(librariesBuiltAt, File.GetLastWriteTimeUtc(librariesBuilt));

        // What NuGet left for a library gone: the next run restores again, and builds.
        var clientAssets = Path.Combine(copy, "src/Client/obj/project.assets.json");
        File.Delete(clientAssets);
        await RunDemo(copy, "after a library's assets were deleted", TimeSpan.FromMinutes(3));
        Assert.True(File.Exists(clientAssets), "the run restored the client library again");
        Assert.True(File.GetLastWriteTimeUtc(restored) > restoredAt, "the run asked NuGet");

        // A source file added to a library, then deleted (with an old time, as a move would
        // leave it): each run builds the library again, and the aggregator runs what it built.
        var probe = Path.Combine(copy, "src/Client/ReadmeCommandProbe.cs");
        var client = Path.Combine(copy, "src/Aggregator/bin/Debug/net10.0/Actors.Client.dll");
        await File.WriteAllTextAsync(probe, "namespace Actors.Client;\ninternal static class ReadmeCommandProbe { }\n");
        File.SetLastWriteTimeUtc(probe, DateTime.UtcNow.AddYears(-1));
        await RunDemo(copy, "after a file was added to a library", TimeSpan.FromMinutes(3));
        Assert.True(Contains(client, "ReadmeCommandProbe"), "the aggregator's client library has the added type");
        File.Delete(probe);
        await RunDemo(copy, "after that file was deleted", TimeSpan.FromMinutes(3));
        Assert.False(Contains(client, "ReadmeCommandProbe"), "the aggregator's client library lost the deleted type");

        // A property on the command line reaches the libraries and the Worker as a build would
        // take it: the version each program prints is Hosting's.
        await using var versioned = RunningProcess.StartProgram("dotnet", ["run", "--project", Path.Combine(copy, "src/Aggregator"), "-p:Version=9.9.9-readme", "--", "--version"]);
        var version = await versioned.WaitForExitAsync(TimeSpan.FromMinutes(3));
        Assert.True(version.ExitCode == 0, $"dotnet run -p:Version exited {version.ExitCode}:\n{version.Stdout}\n{version.Stderr}");
        Assert.Equal("9.9.9-readme", Assert.Single(version.Lines));
        // The demo's Worker, built by the same run, with the same properties.
        await using var workerVersion = RunningProcess.StartProgram("dotnet", [worker, "--version"]);
        var workerResult = await workerVersion.WaitForExitAsync(TimeSpan.FromMinutes(1));
        Assert.True(workerResult.ExitCode == 0, $"Worker --version exited {workerResult.ExitCode}:\n{workerResult.Stderr}");
        Assert.Equal("9.9.9-readme", Assert.Single(workerResult.Lines));
    }

    private async Task RunDemo(string copy, string run, TimeSpan bound)
    {
        await using var process = RunningProcess.StartProgram("dotnet", ["run", "--project", Path.Combine(copy, "src/Aggregator"), "--", "demo"]);
        var result = await process.WaitForExitAsync(bound);
        output.WriteLine($"{run} run: exit {result.ExitCode} after {result.Elapsed.TotalSeconds:0.0} s");
        Assert.True(result.ExitCode == 0, $"{run} dotnet run exited {result.ExitCode}:\n{result.Stdout}\n{result.Stderr}");
        var line = Assert.Single(result.Lines);
        ReferenceScenarioTests.AssertReferenceList(JsonSerializer.Deserialize<string[]>(line)!);
    }

    private static bool Contains(string file, string text) =>
        File.ReadAllBytes(file).AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;

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
