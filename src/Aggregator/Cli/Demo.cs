using Aggregator.Lists;
using Aggregator.Routing;
using Aggregator.Service;
using Aggregator.Storage;
using System.Diagnostics;
using System.Reflection;
using Akka.Actor;
using Akka.Hosting;
using Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Cli;

/// <summary>
/// The reference scenario: an aggregator in this process, two real worker processes that
/// append five items each, and the final list printed as a JSON array on stdout.
/// </summary>
public static class Demo
{
    private static readonly (string Id, string[] Items)[] Workers =
    [
        ("worker-a", ["one", "two", "three", "four", "five"]),
        ("worker-b", ["six", "seven", "eight", "nine", "ten"]),
    ];

    private static readonly TimeSpan WorkerTimeout = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(CommandLine line, TextWriter stdout)
    {
        var worker = LocateWorker();
        var file = HoconFile.Load(line.ConfigFile, "aggregator.hocon");
        using var storage = JournalStorage.InMemory();
        var serve = new ServeSettings(file, ListSettings.From(file, durable: false), storage, Security: null,
            Hostname: "127.0.0.1", Port: 0, Quiet: true);
        using var host = AggregatorService.Build(serve, stdout);
        var system = Program.StartSystem(host, "127.0.0.1:0", "--port");
        await host.StartAsync();
        try
        {
            var lists = await host.Services.GetRequiredService<IRequiredActor<ListsEntry>>().GetAsync();
            var address = ((ExtendedActorSystem)system).Provider.DefaultAddress;
            var endpoint = $"{address.Host}:{address.Port}";
            var runs = Workers.Select(w => RunWorkerAsync(worker, endpoint, w.Id, w.Items)).ToArray();
            var codes = await Task.WhenAll(runs);
            for (var i = 0; i < codes.Length; i++)
            {
                if (codes[i] != ExitCodes.Success)
                {
                    await Console.Error.WriteLineAsync($"Aggregator: demo: {Workers[i].Id} exited with code {codes[i]}");
                    return ExitCodes.Failure;
                }
            }

            var items = new List<string>();
            await foreach (var page in ListPages.ReadAsync(ActorNames.DefaultList, 0, ulong.MaxValue,
                               request => lists.Ask<ItemRange>(request, TimeSpan.FromSeconds(10))))
            {
                items.AddRange(PackedItems.Decode(page.Items.Span));
            }

            await stdout.WriteLineAsync(OutputJson.Serialize(items.ToArray()));
            await stdout.FlushAsync();
            return ExitCodes.Success;
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static async Task<int> RunWorkerAsync(string[] worker, string endpoint, string id, string[] items)
    {
        var start = new ProcessStartInfo(worker[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in worker.Skip(1).Concat(["append", "--aggregator", endpoint, "--id", id, "--connect-timeout", "20"]))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var item in items)
        {
            start.ArgumentList.Add(item);
        }

        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Relay(id, e.Data);
        process.ErrorDataReceived += (_, e) => Relay(id, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(WorkerTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await Console.Error.WriteLineAsync($"[{id}] did not finish within {WorkerTimeout.TotalSeconds:0} s; killed");
            return ExitCodes.Failure;
        }

        return process.ExitCode;
    }

    private static void Relay(string id, string? line)
    {
        if (line is not null)
        {
            Console.Error.WriteLine($"[{id}] {line}");
        }
    }

    /// <summary>
    /// The command that starts a worker: ACTORS_WORKER (a Worker.dll), else a Worker.dll
    /// beside this executable, else the one the build of this project produced.
    /// </summary>
    private static string[] LocateWorker()
    {
        var candidates = new List<string?>
        {
            Environment.GetEnvironmentVariable("ACTORS_WORKER"),
            Path.Combine(AppContext.BaseDirectory, "Worker.dll"),
            typeof(Demo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "WorkerPath")?.Value,
        };
        foreach (var candidate in candidates)
        {
            if (!string.IsNullOrEmpty(candidate) && File.Exists(candidate))
            {
                return [DotnetHost(), Path.GetFullPath(candidate)];
            }
        }

        throw new StartupException(
            "demo: cannot find the Worker executable (Worker.dll); build the solution (dotnet build) or set ACTORS_WORKER",
            new FileNotFoundException("Worker.dll"));
    }

    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
