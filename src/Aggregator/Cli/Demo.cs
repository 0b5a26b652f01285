using Aggregator.Lists;
using Aggregator.Routing;
using Aggregator.Service;
using Aggregator.Storage;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
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

    public static Task<int> RunAsync(CommandLine line, TextWriter stdout) => RunAsync(line, stdout, FreePort);

    /// <param name="pickPort">the port the aggregator and its workers start on together (a spec gives one that is taken).</param>
    internal static async Task<int> RunAsync(CommandLine line, TextWriter stdout, Func<int> pickPort)
    {
        var worker = LocateWorker();
        var file = HoconFile.Load(line.ConfigFile, "aggregator.hocon");
        using var storage = JournalStorage.InMemory();

        // The workers start with the aggregator, not after it, on a free port picked now: their
        // start-up and the aggregator's overlap (a worker that comes first tries again a moment
        // later). Should another process take the port meanwhile, the aggregator takes any port
        // and the workers start again after it. (Were that process an aggregator too, the
        // workers may have appended to its list first: it would have to bind this very port
        // within the quarter second before ours.)
        var kill = new CancellationTokenSource();
        var port = pickPort();
        var runs = StartWorkers(worker, port, kill.Token);
        try
        {
            if (!TryStart(file, storage, port, stdout, out var host, out var failure))
            {
                if (failure.SocketErrorCode != SocketError.AddressAlreadyInUse)
                {
                    throw failure;
                }

                await kill.CancelAsync();
                await Task.WhenAll(runs);
                kill.Dispose();
                kill = new CancellationTokenSource();
                if (!TryStart(file, storage, 0, stdout, out host, out failure))
                {
                    throw failure;
                }

                var system = host.Services.GetRequiredService<ActorSystem>();
                runs = StartWorkers(worker, ((ExtendedActorSystem)system).Provider.DefaultAddress.Port!.Value, kill.Token);
            }

            using var served = host;
            await served.StartAsync();
            try
            {
                return await AppendAndPrintAsync(served, runs, stdout);
            }
            finally
            {
                await served.StopAsync();
            }
        }
        finally
        {
            // Workers still running here (the aggregator failed to start) end with the demo.
            await kill.CancelAsync();
            await Task.WhenAll(runs);
            kill.Dispose();
        }
    }

    /// <summary>Waits for the workers, then prints the list as a JSON array.</summary>
    private static async Task<int> AppendAndPrintAsync(IHost host, Task<int>[] runs, TextWriter stdout)
    {
        var lists = await host.Services.GetRequiredService<IRequiredActor<ListsEntry>>().GetAsync();
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

    /// <summary>Builds the aggregator's host and starts its actor system on 127.0.0.1:<paramref name="port"/>; false, and why, if it cannot listen there.</summary>
    private static bool TryStart(HoconFile file, JournalStorage storage, int port, TextWriter stdout,
        [NotNullWhen(true)] out IHost? host, [NotNullWhen(false)] out StartupException? failure)
    {
        var serve = new ServeSettings(file, ListSettings.From(file, durable: false), storage, Security: null,
            Hostname: "127.0.0.1", Port: port, Quiet: true);
        host = AggregatorService.Build(serve, stdout);
        try
        {
            AggregatorService.StartSystem(host, $"127.0.0.1:{port}", "--port");
            failure = null;
            return true;
        }
        catch (StartupException e)
        {
            host.Dispose();
            host = null;
            failure = e;
            return false;
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static Task<int>[] StartWorkers(string[] worker, int port, CancellationToken cancel) =>
        Workers.Select(w => RunWorkerAsync(worker, $"127.0.0.1:{port}", w.Id, w.Items, cancel)).ToArray();

    /// <summary>Runs one worker to its end (its exit code); <paramref name="cancel"/> kills it (the code is then of no interest).</summary>
    private static async Task<int> RunWorkerAsync(string[] worker, string endpoint, string id, string[] items, CancellationToken cancel)
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
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(WorkerTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (cancel.IsCancellationRequested)
            {
                return ExitCodes.Failure;
            }

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
