using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using static EndToEnd.Tests.KillScenario;

namespace EndToEnd.Tests;

/// <summary>
/// Three aggregator nodes, each seeding from all three: on free loopback ports, or each in
/// a network namespace of its own (<see cref="StartInAsync"/>). SIGKILLed on dispose.
/// </summary>
internal sealed partial class TestCluster : IAsyncDisposable
{
    private readonly ServedAggregator?[] _nodes;
    private readonly string[] _endpoints;
    private readonly string[] _clusterEndpoints;
    private readonly string[] _options;
    private readonly string[] _workerOptions;
    private readonly NetworkNamespaces? _network;

    /// <param name="endpoints">each node's workers' HOST:PORT.</param>
    /// <param name="clusterEndpoints">each node's HOST:PORT for the other nodes (--cluster-port, --seed).</param>
    private TestCluster(string[] endpoints, string[] clusterEndpoints, string config, string[] nodeOptions, string[] workerOptions,
        NetworkNamespaces? network)
    {
        _endpoints = endpoints;
        _clusterEndpoints = clusterEndpoints;
        _nodes = new ServedAggregator?[endpoints.Length];
        _options = ["--cluster", .. Seeds, "--config", config, .. nodeOptions];
        _workerOptions = workerOptions;
        _network = network;
    }

    /// <summary>The options every worker command gets (TLS, a worker configuration).</summary>
    public string[] WorkerOptions => _workerOptions;

    /// <summary>--seed HOST:PORT for every node, at its cluster port.</summary>
    public string[] Seeds => _clusterEndpoints.SelectMany(e => new[] { "--seed", e }).ToArray();

    /// <summary>Node <paramref name="node"/>'s HOST:PORT for the other nodes.</summary>
    public string ClusterEndpoint(int node) => _clusterEndpoints[node];

    /// <summary>The node at <paramref name="index"/>, if it runs.</summary>
    public ServedAggregator? this[int index] => _nodes[index];

    /// <summary>Node <paramref name="node"/>'s HOST:PORT for workers, alone: a worker given it asks no other node.</summary>
    public string Endpoint(int node) => _endpoints[node];

    /// <summary>Every node, for --aggregator.</summary>
    public string Contacts => ContactsFrom(0);

    /// <summary>Every node starting with node <paramref name="first"/>: where a worker tries first.</summary>
    public string ContactsFrom(int first) =>
        string.Join(",", _endpoints.Select((_, i) => _endpoints[(first + i) % _endpoints.Length]));

    /// <param name="nodeOptions">more options for every node (TLS).</param>
    /// <param name="workerOptions">more options for every worker command (TLS).</param>
    public static Task<TestCluster> StartAsync(string config, ITestOutputHelper output, int size = 3,
        string[]? nodeOptions = null, string[]? workerOptions = null) =>
        StartAsync(new TestCluster(Enumerable.Range(0, size).Select(_ => $"127.0.0.1:{Executables.FreePort()}").ToArray(),
            Enumerable.Range(0, size).Select(_ => $"127.0.0.1:{Executables.FreePort()}").ToArray(), config,
            nodeOptions ?? [], workerOptions ?? [], null), output);

    /// <summary>
    /// One node in each of <paramref name="network"/>'s namespaces: the workers' port 25520 on its
    /// address on the service network, the nodes' port 25530 on its address on the cluster network.
    /// </summary>
    public static Task<TestCluster> StartInAsync(NetworkNamespaces network, string config, ITestOutputHelper output, string[] workerOptions) =>
        StartAsync(new TestCluster(Enumerable.Range(0, network.Size).Select(i => $"{network.Address(i)}:25520").ToArray(),
            Enumerable.Range(0, network.Size).Select(i => $"{network.ClusterAddress(i)}:25530").ToArray(), config,
            [], workerOptions, network), output);

    private static async Task<TestCluster> StartAsync(TestCluster cluster, ITestOutputHelper output)
    {
        try
        {
            var started = await Task.WhenAll(cluster._endpoints.Select((_, i) => cluster.StartNodeAsync(i)));
            output.WriteLine($"cluster of {started.Length} nodes up: {cluster.Contacts}");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The index of the node at <paramref name="address"/> (akka.tcp://aggregator@host:port).</summary>
    public int NodeOf(string address) => Array.IndexOf(_endpoints, address[(address.LastIndexOf('@') + 1)..].TrimEnd('/'));

    /// <summary>The oldest live node (it holds the shard coordinator), as the nodes' logs say.</summary>
    public int Oldest()
    {
        var said = _nodes.Where(n => n is not null)
            .Select(n => OldestLine().Matches(n!.Process.Stderr).LastOrDefault()?.Groups["node"].Value)
            .First(n => n is not null)!;
        return NodeOf(said);
    }

    /// <summary>
    /// Loads lists of the given names (a count starts a list's actor) until
    /// <paramref name="count"/> are placed, one on <paramref name="mustHoldOne"/> if given;
    /// answers where each is.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, int>> PlaceListsAsync(IEnumerable<string> names, int count, int? mustHoldOne)
    {
        var placed = new Dictionary<string, int>();
        foreach (var name in names)
        {
            Assert.Equal(0, Count(await WorkerAsync("count", "--list", name)));
            placed[name] = (await WhereAsync([name]))[name];
            if (placed.Count >= count && (mustHoldOne is null || placed.Values.Contains(mustHoldOne.Value)))
            {
                var chosen = mustHoldOne is { } must ? placed.Where(p => p.Value == must).Take(1) : [];
                return chosen.Concat(placed.Where(p => !chosen.Contains(p)).Take(count - chosen.Count())).ToDictionary();
            }
        }

        throw new InvalidOperationException($"no list of these names is on node {mustHoldOne}");
    }

    /// <summary>
    /// The node of each of <paramref name="lists"/>, as <c>stats</c> says. Stats gathers what
    /// each node's region answers within its time-out, so a list can be missing from one
    /// answer (seen right after a node rejoined): asked again, for up to 20 s.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, int>> WhereAsync(IEnumerable<string> lists)
    {
        var wanted = lists.ToArray();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var stats = await WorkerAsync("stats", "--json");
            using var json = JsonDocument.Parse(stats.Stdout);
            var nodes = json.RootElement.GetProperty("lists").EnumerateArray()
                .ToDictionary(l => l.GetProperty("list").GetString()!, l => l.GetProperty("node").GetString()!);
            var missing = wanted.FirstOrDefault(list => !nodes.ContainsKey(list));
            if (missing is null)
            {
                return wanted.ToDictionary(list => list, list => NodeOf(nodes[list]));
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new InvalidOperationException($"stats has not shown list '{missing}' for 20 s:\n{stats.Stdout}");
            }

            await Task.Delay(200);
        }
    }

    /// <returns>the count that reached <paramref name="atLeast"/>.</returns>
    public async Task<long> WaitForCountAsync(string list, long atLeast)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var count = Count(await WorkerAsync("count", "--list", list));
            if (count >= atLeast)
            {
                return count;
            }

            Assert.True(clock.Elapsed < Long, $"list '{list}' did not reach {atLeast} items within {Long}");
        }
    }

    /// <summary>The live nodes' log lines that contain <paramref name="text"/> or are about membership.</summary>
    public string LogLinesWith(string text) => string.Join('\n', _nodes.Where(n => n is not null).SelectMany(n =>
        n!.Process.Stderr.Split('\n').Where(l => l.Contains(text, StringComparison.Ordinal) || l.Contains("Cluster:", StringComparison.Ordinal))
            .Select(l => $"{n.Endpoint} {l}")));

    public async Task<string[]> ReadAllAsync(string list) => (await WorkerAsync("get", "--list", list)).Lines;

    /// <summary>SIGKILL.</summary>
    public async Task KillAsync(int node)
    {
        await _nodes[node]!.DisposeAsync();
        _nodes[node] = null;
    }

    /// <summary>SIGTERM, and the node's exit.</summary>
    public async Task<Completed> StopAsync(int node)
    {
        var process = _nodes[node]!.Process;
        process.Signal(15);
        var run = await process.WaitForExitAsync(Long);
        await _nodes[node]!.DisposeAsync();
        _nodes[node] = null;
        return run;
    }

    public Task<ServedAggregator> RestartAsync(int node) => StartNodeAsync(node);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (node is not null)
            {
                await node.DisposeAsync();
            }
        }
    }

    private async Task<ServedAggregator> StartNodeAsync(int node)
    {
        var port = int.Parse(_endpoints[node][(_endpoints[node].LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        var clusterPort = _clusterEndpoints[node][(_clusterEndpoints[node].LastIndexOf(':') + 1)..];
        return _nodes[node] = _network is null
            ? await ServedAggregator.StartWithAsync([.. _options, "--cluster-port", clusterPort], port)
            : await ServedAggregator.StartWithAsync(["--hostname", _network.Address(node), "--cluster-hostname", _network.ClusterAddress(node),
                .. _options, "--cluster-port", clusterPort], port, via: _network.Inside(node, "dotnet"));
    }

    /// <summary>Sends node <paramref name="node"/> a signal (SIGTERM = 15); see <see cref="ExitOfAsync"/>.</summary>
    public void Signal(int node, int signal) => _nodes[node]!.Process.Signal(signal);

    /// <summary>The exit of node <paramref name="node"/>, which stops by itself (bounded).</summary>
    public async Task<Completed> ExitOfAsync(int node, TimeSpan timeout)
    {
        var run = await _nodes[node]!.Process.WaitForExitAsync(timeout);
        await _nodes[node]!.DisposeAsync();
        _nodes[node] = null;
        return run;
    }

    /// <summary>What every node running now, and <paramref name="also"/>, wrote on stderr.</summary>
    public string AllStderr(params Completed[] also) =>
        string.Join('\n', _nodes.Where(n => n is not null).Select(n => n!.Process.Stderr).Concat(also.Select(c => c.Stderr)));

    public async Task<Completed> WorkerAsync(params string[] args)
    {
        var run = await UncheckedWorkerAsync(args);
        Assert.True(run.ExitCode == 0, $"worker {string.Join(' ', args)} exited {run.ExitCode}; stderr:\n{run.Stderr}");
        return run;
    }

    /// <summary>A worker command against every contact, with the cluster's worker options; the caller checks the exit.</summary>
    public Task<Completed> UncheckedWorkerAsync(params string[] args) =>
        Executables.RunWorkerAsync([args[0], "--aggregator", Contacts, .. _workerOptions, .. args[1..]]);

    [GeneratedRegex(@"the oldest node, which holds the shard coordinator, is (?<node>\S+)")]
    private static partial Regex OldestLine();
}
