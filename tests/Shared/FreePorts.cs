using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TestSupport;

/// <summary>
/// TCP ports for the tests, one source for every test project (linked into each): a port
/// free on loopback now, below the kernel's range for outgoing connections
/// (<c>net.ipv4.ip_local_port_range</c>), so that a node killed and restarted on it cannot
/// find it taken meanwhile by some process's outgoing connection, as a port the kernel picks
/// can be. Never the same port twice in one test process, and never the programs' default
/// ports (25520, 25530), which tests of the defaults bind.
/// </summary>
internal static class FreePorts
{
    private static readonly HashSet<int> HandedOut = [25520, 25530];

    /// <summary>The first port of the kernel's range for outgoing connections (32768 when it cannot be read).</summary>
    private static readonly Lazy<int> EphemeralPorts = new(() =>
    {
        try
        {
            var first = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0];
            return Math.Max(int.Parse(first, CultureInfo.InvariantCulture), 21_000);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 32_768;
        }
    });

    public static int Next()
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
                    using var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                }
                catch (SocketException)
                {
                    continue; // in use
                }

                HandedOut.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException("no free TCP port found below the ephemeral range in 1000 tries");
    }
}
