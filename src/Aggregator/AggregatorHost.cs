using System.Net.Sockets;
using Akka.Actor;
using Protocol;

namespace Aggregator;

/// <summary>Starts the aggregator's actor system from its configuration and hosts the lists actor.</summary>
public sealed class AggregatorHost
{
    private AggregatorHost(ActorSystem system, IActorRef lists, Address address, Storage storage, string bindHost, bool tls)
    {
        Tls = tls;
        BindHost = bindHost;
        System = system;
        Lists = lists;
        Address = address;
        Storage = storage;
        system.RegisterOnTermination(storage.Dispose);
    }

    public Storage Storage { get; }

    /// <summary>True when workers must connect with mutual TLS (actors.tls.enabled).</summary>
    public bool Tls { get; }

    /// <summary>The address the transport binds to (akka.remote.dot-netty.tcp.hostname).</summary>
    public string BindHost { get; }

    /// <summary>True when only this machine can connect: a loopback address or localhost.</summary>
    public bool LoopbackOnly => BindHost == "localhost"
        || (global::System.Net.IPAddress.TryParse(BindHost, out var ip) && global::System.Net.IPAddress.IsLoopback(ip));

    public ActorSystem System { get; }

    public IActorRef Lists { get; }

    /// <summary>The real bound address (with the port chosen when 0 was asked).</summary>
    public Address Address { get; }

    public static string DefaultConfigFile => Path.Combine(AppContext.BaseDirectory, "aggregator.hocon");

    /// <exception cref="ConfigurationException">the configuration is missing or wrong.</exception>
    /// <exception cref="StartupException">the system could not start (port taken, address not local).</exception>
    /// <param name="dataDirectory">null: in memory; otherwise the data directory (or "" for the configured database).</param>
    public static AggregatorHost Start(string? configFile, IEnumerable<KeyValuePair<string, string>> overrides, bool inMemory,
        string? dataDirectory = null)
    {
        var file = HoconFile.Load(configFile ?? DefaultConfigFile, overrides);
        var tcp = file.Config.GetConfig("akka.remote.dot-netty.tcp");
        var bindHost = tcp.GetString("hostname");
        var endpoint = $"{bindHost}:{tcp.GetString("port")}";
        var security = TransportSecurity.From(file);
        var storage = inMemory ? Storage.InMemory() : Storage.Open(file, dataDirectory);
        ActorSystem system;
        try
        {
            var settings = ListSettings.From(file, storage.Durable);
            var config = storage.Config.WithFallback(file.Config).WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
            try
            {
                system = ActorSystem.Create(ActorNames.AggregatorSystem, TransportSecurity.SystemSetup(config, security));
            }
            catch (Exception e)
            {
                throw new StartupException(Describe(e, endpoint), e);
            }

            if (storage.Durable)
            {
                system.ActorOf(JournalWarmUp.Props(), "journal-warm-up");
            }

            var lists = system.ActorOf(ListsActor.Props(settings), ActorNames.Lists);
            var address = ((ExtendedActorSystem)system).Provider.DefaultAddress;
            return new AggregatorHost(system, lists, address, storage, bindHost, security is not null);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    private static string Describe(Exception e, string endpoint)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.AddressAlreadyInUse =>
                        $"cannot listen on {endpoint}: the port is already in use (choose another with --port, or --port 0)",
                    SocketError.AddressNotAvailable =>
                        $"cannot listen on {endpoint}: that address is not one of this machine's (see --hostname)",
                    SocketError.AccessDenied => $"cannot listen on {endpoint}: permission denied (ports below 1024 need privileges)",
                    _ => $"cannot listen on {endpoint}: {socket.Message}",
                };
            }
        }

        return $"the actor system did not start: {e.GetBaseException().Message}";
    }
}

public sealed class StartupException(string message, Exception inner) : Exception(message, inner);
