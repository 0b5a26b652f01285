using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Aggregator.Cli;

namespace Aggregator.Tests;

/// <summary>
/// The demo starts its two worker processes with the aggregator, on a port it picks first:
/// when another process holds that port by the time the aggregator listens, the demo still
/// prints the whole list (the aggregator on any port, the workers started again after it).
/// </summary>
public sealed class DemoSpecs
{
    [Fact]
    public async Task A_demo_whose_port_is_taken_meanwhile_listens_elsewhere_and_runs_its_workers_again()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var stdout = new StringWriter();
        var picked = 0;

        var code = await Demo.RunAsync(CommandLine.Parse(["demo"])!, stdout, () =>
        {
            picked++;
            return port;
        }).WaitAsync(TimeSpan.FromSeconds(90));

        Assert.Equal(0, code);
        Assert.Equal(1, picked);
        var items = JsonSerializer.Deserialize<string[]>(Assert.Single(stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)))!;
        Assert.Equal(["eight", "five", "four", "nine", "one", "seven", "six", "ten", "three", "two"], items.Order());
    }
}
