using System.Text.Json;
using Xunit.Abstractions;

namespace EndToEnd.Tests;

/// <summary>
/// The client package as a newcomer gets it (docs/client.md): packed into a local folder, added
/// by version to a fresh console project outside the repository, which runs the seed's scenario
/// (samples/SeedScenario's Program.cs) against a real aggregator.
/// </summary>
public sealed class PackageTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(4);
    private readonly string _directory = Directory.CreateTempSubdirectory("e2e-package").FullName;

    [Fact]
    public async Task A_fresh_console_app_should_run_the_seed_scenario_on_the_packed_client_referenced_by_version()
    {
        // A version of this run's own: NuGet's cache never hands back an earlier run's package.
        var version = $"{typeof(Actors.Client.AggregatorClient).Assembly.GetName().Version!.ToString(3)}-check.{Guid.NewGuid():N}"[..30];
        var packages = Path.Combine(_directory, "packages");
        var app = Path.Combine(_directory, "SeedApp");
        var root = Executables.RepositoryRoot;

        await DotnetAsync("pack", Path.Combine(root, "src/Protocol"), "-c", "Release", "-o", packages, $"-p:Version={version}");
        await DotnetAsync("pack", Path.Combine(root, "src/Client"), "-c", "Release", "-o", packages, $"-p:Version={version}");
        Assert.True(File.Exists(Path.Combine(packages, $"Actors.Client.{version}.nupkg")), "the client's package");
        Assert.True(File.Exists(Path.Combine(packages, $"Actors.Protocol.{version}.nupkg")), "the protocol's package");
        await DotnetAsync("new", "console", "-o", app, "-n", "SeedApp");
        await DotnetAsync("new", "nugetconfig", "-o", app);
        await DotnetAsync("nuget", "add", "source", packages, "--name", "actors", "--configfile", Path.Combine(app, "nuget.config"));
        await DotnetAsync("add", Path.Combine(app, "SeedApp.csproj"), "package", "Actors.Client", "--version", version);
        File.Copy(Path.Combine(root, "samples/SeedScenario/Program.cs"), Path.Combine(app, "Program.cs"), overwrite: true);
        var project = await File.ReadAllTextAsync(Path.Combine(app, "SeedApp.csproj"));
        Assert.Contains($"<PackageReference Include=\"Actors.Client\" Version=\"{version}\" />", project);
        Assert.DoesNotContain("ProjectReference", project);

        await using var aggregator = await ServedAggregator.StartAsync();
        var run = await DotnetAsync(new Dictionary<string, string> { ["ACTORS_AGGREGATOR"] = aggregator.Endpoint },
            "run", "--project", Path.Combine(app, "SeedApp.csproj"));

        var list = JsonSerializer.Deserialize<string[]>(run.Stdout)!;
        string[] ten = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
        Assert.Equal(ten.Order(StringComparer.Ordinal), list.Order(StringComparer.Ordinal)); // each once
        Assert.Equal(["one", "two", "three", "four", "five"], list.Where(i => i is "one" or "two" or "three" or "four" or "five"));
        Assert.Equal(["six", "seven", "eight", "nine", "ten"], list.Where(i => i is "six" or "seven" or "eight" or "nine" or "ten"));

        // Again: both producers resume where they stopped, and the list still holds ten items.
        var again = await DotnetAsync(new Dictionary<string, string> { ["ACTORS_AGGREGATOR"] = aggregator.Endpoint },
            "run", "--project", Path.Combine(app, "SeedApp.csproj"), "--no-build");
        Assert.Equal(list, JsonSerializer.Deserialize<string[]>(again.Stdout));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private Task<Completed> DotnetAsync(params string[] args) => DotnetAsync(new Dictionary<string, string>(), args);

    private async Task<Completed> DotnetAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        await using var process = RunningProcess.StartProgram("dotnet", args, environment: new Dictionary<string, string>(environment)
        {
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        });
        var run = await process.WaitForExitAsync(Step);
        output.WriteLine($"dotnet {string.Join(' ', args)}: exit {run.ExitCode}");
        Assert.True(run.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {run.ExitCode}:\n{run.Stdout}\n{run.Stderr}");
        return run;
    }
}
