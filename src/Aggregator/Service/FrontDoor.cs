using Akka.Actor;
using Akka.Configuration;
using Hosting;
using Protocol;

namespace Aggregator.Service;

/// <summary>
/// A cluster node's worker-facing actor system (<see cref="ActorNames.AggregatorSystem"/>): the
/// workers' port, the workers' TLS, untrusted mode as the configuration file sets it (on: no
/// system message from the network, selections only of <c>/user/lists</c>). It holds nothing
/// but <see cref="Routing.FrontGateway"/>; the node's lists and membership are in its cluster
/// system, on another port, which workers never reach.
/// </summary>
public static class FrontDoor
{
    /// <summary>Starts the system, listening on the workers' address (the command line's options over the file's).</summary>
    /// <exception cref="StartupException">it cannot listen there.</exception>
    public static ActorSystem Start(HoconFile file, AggregatorTls? security, string? hostname, int? port, string? publicHostname)
    {
        var overrides = new List<string>();
        if (hostname is not null)
        {
            overrides.Add($"akka.remote.dot-netty.tcp.hostname = {HoconFile.Quote(hostname)}");
        }

        if (port is not null)
        {
            overrides.Add($"akka.remote.dot-netty.tcp.port = {port}");
        }

        if (publicHostname is not null)
        {
            overrides.Add($"akka.remote.dot-netty.tcp.public-hostname = {HoconFile.Quote(publicHostname)}");
        }

        var config = ConfigurationFactory.ParseString(string.Join('\n', overrides)).WithFallback(file.Config);
        var endpoint = $"{config.GetString("akka.remote.dot-netty.tcp.hostname")}:{config.GetInt("akka.remote.dot-netty.tcp.port")}";
        try
        {
            return ActorSystem.Create(ActorNames.AggregatorSystem, TransportSecurity.SystemSetup(config, security));
        }
        catch (Exception e)
        {
            throw Program.CannotListen(e, endpoint);
        }
    }
}
