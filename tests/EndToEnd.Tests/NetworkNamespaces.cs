using System.Diagnostics;
using System.Globalization;

namespace EndToEnd.Tests;

/// <summary>
/// A private network made with iproute2 for a partition test: one network namespace per node,
/// joined to two bridges in this (the root) namespace by a veth pair each. The service bridge
/// (address <see cref="HostAddress"/>) carries the workers and the journal, each node at
/// <see cref="Address"/>; the cluster bridge carries the nodes' own traffic, each node at
/// <see cref="ClusterAddress"/>. <see cref="Cut"/> takes both of a node's links down (it then
/// reaches nothing: not the other nodes, not the workers, not the journal),
/// <see cref="CutFromNodes"/> only its cluster link (it still reaches the journal and the
/// workers, and they it); <see cref="Heal"/> brings them back. Needs root; every
/// failed command throws with what <c>ip</c> said. Disposing deletes the namespaces (and with
/// them the veth pairs) and the bridge; names carry this process's id, and namespaces left
/// behind by a test process that is gone are deleted at the next creation.
/// </summary>
internal sealed partial class NetworkNamespaces : IDisposable
{
    private const string Prefix = "actp";
    private readonly string _id;
    private readonly int _subnet;
    private readonly List<string> _namespaces = [];
    private bool _bridgeMade;
    private bool _clusterBridgeMade;

    private NetworkNamespaces(int size)
    {
        _id = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        _subnet = 16 + Environment.ProcessId % 200;
        Size = size;
    }

    /// <summary>Why namespaces cannot be made here, or null when they can be tried.</summary>
    public static string? Unavailable =>
        !OperatingSystem.IsLinux() ? "network namespaces need Linux"
        : Native.GetEuid() != 0 ? "making network namespaces needs root and iproute2: run dotnet test as root"
        : null;

    public int Size { get; }

    /// <summary>The bridge's address in this namespace: workers and the journal's relay listen here.</summary>
    public string HostAddress => $"10.213.{_subnet}.1";

    /// <summary>Node <paramref name="node"/>'s address on the service network, in its own namespace.</summary>
    public string Address(int node) => $"10.213.{_subnet}.{11 + node}";

    /// <summary>Node <paramref name="node"/>'s address on the cluster network, in its own namespace.</summary>
    public string ClusterAddress(int node) => $"10.214.{_subnet}.{11 + node}";

    /// <summary>The name of node <paramref name="node"/>'s namespace.</summary>
    public string Namespace(int node) => $"{Prefix}{_id}n{node}";

    /// <summary>Creates the bridge and <paramref name="size"/> namespaces; throws, saying why, if it cannot.</summary>
    public static NetworkNamespaces Create(int size)
    {
        var network = new NetworkNamespaces(size);
        try
        {
            DeleteLeftovers();
            var (bridge, clusterBridge) = (network.Bridge, network.ClusterBridge);
            Ip("link", "add", bridge, "type", "bridge");
            network._bridgeMade = true;
            Ip("addr", "add", $"{network.HostAddress}/24", "dev", bridge);
            Ip("link", "set", bridge, "up");
            Ip("link", "add", clusterBridge, "type", "bridge");
            network._clusterBridgeMade = true;
            Ip("link", "set", clusterBridge, "up");
            for (var node = 0; node < size; node++)
            {
                var name = network.Namespace(node);
                Ip("netns", "add", name);
                network._namespaces.Add(name);
                foreach (var (hostSide, nodeSide, address, into) in new[]
                {
                    (network.HostSide(node), network.NodeSide(node), network.Address(node), bridge),
                    (network.ClusterHostSide(node), network.ClusterNodeSide(node), network.ClusterAddress(node), clusterBridge),
                })
                {
                    Ip("link", "add", hostSide, "type", "veth", "peer", "name", nodeSide);
                    Ip("link", "set", hostSide, "master", into, "up");
                    Ip("link", "set", nodeSide, "netns", name);
                    Ip("-n", name, "addr", "add", $"{address}/24", "dev", nodeSide);
                    Ip("-n", name, "link", "set", nodeSide, "up");
                }

                Ip("-n", name, "link", "set", "lo", "up");
            }

            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>The command line that runs <paramref name="program"/> inside node <paramref name="node"/>'s namespace.</summary>
    public string[] Inside(int node, string program) => ["ip", "netns", "exec", Namespace(node), program];

    /// <summary>Takes both of node <paramref name="node"/>'s links down: nothing gets in or out any more.</summary>
    public void Cut(int node)
    {
        Ip("link", "set", HostSide(node), "down");
        Ip("link", "set", ClusterHostSide(node), "down");
    }

    /// <summary>Takes node <paramref name="node"/>'s cluster link down: it no longer reaches the other nodes, but still the journal and the workers.</summary>
    public void CutFromNodes(int node) => Ip("link", "set", ClusterHostSide(node), "down");

    /// <summary>
    /// Brings node <paramref name="node"/>'s link up again, forgets the neighbours that failed
    /// to answer meanwhile (else the kernel answers "no route to host" for a while), and waits
    /// (bounded) until a TCP connection from inside the namespace reaches
    /// <paramref name="host"/>:<paramref name="port"/> on the bridge.
    /// </summary>
    public void Heal(int node, string host, int port)
    {
        Ip("link", "set", HostSide(node), "up");
        Ip("link", "set", ClusterHostSide(node), "up");
        Ip("-n", Namespace(node), "neigh", "flush", "all");
        Ip("neigh", "flush", "dev", Bridge);
        Ip("neigh", "flush", "dev", ClusterBridge);
        var clock = Stopwatch.StartNew();
        while (Run("ip", "netns", "exec", Namespace(node), "timeout", "1", "bash", "-c", $"exec 3<>/dev/tcp/{host}/{port}").Code != 0)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"node {node}'s namespace does not reach {host}:{port} within 20 s of its link coming back");
            }

            Thread.Sleep(100);
        }
    }

    public void Dispose()
    {
        foreach (var name in _namespaces)
        {
            TryIp("netns", "del", name);
        }

        if (_bridgeMade)
        {
            TryIp("link", "del", Bridge);
        }

        if (_clusterBridgeMade)
        {
            TryIp("link", "del", ClusterBridge);
        }
    }

    private string Bridge => $"{Prefix}{_id}br";

    private string ClusterBridge => $"{Prefix}{_id}cbr";

    private string HostSide(int node) => $"{Prefix}{_id}h{node}";

    private string NodeSide(int node) => $"{Prefix}{_id}v{node}";

    private string ClusterHostSide(int node) => $"{Prefix}{_id}c{node}";

    private string ClusterNodeSide(int node) => $"{Prefix}{_id}w{node}";

    /// <summary>Namespaces and bridges of earlier test processes that are gone (killed by a hang time-out).</summary>
    private static void DeleteLeftovers()
    {
        var namespaces = Run("ip", "netns", "list").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]);
        var links = Run("ip", "-o", "link", "show").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 3)[1].Trim().Split('@')[0]);
        foreach (var name in namespaces.Where(Orphaned))
        {
            TryIp("netns", "del", name); // its veth pair goes with it
        }

        foreach (var name in links.Where(l => l.EndsWith("br", StringComparison.Ordinal) && Orphaned(l)))
        {
            TryIp("link", "del", name);
        }
    }

    /// <summary>One of ours whose test process is gone.</summary>
    private static bool Orphaned(string name)
    {
        if (!name.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var digits = new string(name[Prefix.Length..].TakeWhile(char.IsAsciiDigit).ToArray());
        return int.TryParse(digits, CultureInfo.InvariantCulture, out var pid) && !Alive(pid);
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void Ip(params string[] args)
    {
        var (code, output) = Run("ip", args);
        if (code != 0)
        {
            throw new InvalidOperationException($"cannot make the test's network: `ip {string.Join(' ', args)}` exited {code}: {output.Trim()}");
        }
    }

    private static void TryIp(params string[] args) => Run("ip", args);

    private static (int Code, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot make the test's network: {program} cannot be run ({e.Message}); install iproute2", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                process.Kill();
                throw new TimeoutException($"`{program} {string.Join(' ', args)}` did not end within 20 s");
            }

            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }

    private static partial class Native
    {
        [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "geteuid")]
        public static partial uint GetEuid();
    }
}

/// <summary>
/// A test that needs PostgreSQL and network namespaces of its own: skipped, saying which is
/// missing, where either is (.ci/run counts a skipped test as failed). Where namespaces can be
/// tried but cannot be made, the test fails with what <c>ip</c> said.
/// </summary>
public sealed class PartitionFactAttribute : FactAttribute
{
    public PartitionFactAttribute()
    {
        Skip = PostgresFactAttribute.ConnectionString is null ? PostgresFactAttribute.SkipReason : NetworkNamespaces.Unavailable;
    }
}
