using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting.Logging;
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
    /// <param name="logging">where its log goes (the one-line stderr log, as the node's other system's), through Akka.Hosting's logger bridge.</param>
    /// <exception cref="StartupException">it cannot listen there.</exception>
    public static ActorSystem Start(HoconFile file, AggregatorTls? security, string? hostname, int? port, string? publicHostname,
        Microsoft.Extensions.Logging.ILoggerFactory logging)
    {
        var overrides = new List<string> { $"akka.loggers = [{HoconFile.Quote(typeof(LoggerFactoryLogger).AssemblyQualifiedName!)}]" };
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
            return ActorSystem.Create(ActorNames.AggregatorSystem, TransportSecurity.SystemSetup(config, security).And(new LoggerFactorySetup(logging)));
        }
        catch (Exception e)
        {
            throw StartupException.CannotListen(e, endpoint);
        }
    }
}

/// <summary>Why a cluster node stopped when its worker-facing system stopped first: that system's own reason.</summary>
public sealed class WorkersSystemStoppedReason(CoordinatedShutdown.Reason? cause) : CoordinatedShutdown.Reason
{
    public override int ExitCode => 1;

    public string Message =>
        $"the workers' actor system stopped ({cause?.ToString() ?? "no reason given"}): without the workers' port this node left the cluster, its lists moving to the other nodes. Start it again";

    public override string ToString() => Message;
}
