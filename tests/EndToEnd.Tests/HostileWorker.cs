using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Configuration;
using Akka.Remote.Transport.DotNetty;

namespace EndToEnd.Tests;

/// <summary>
/// A foreign actor system holding a worker's certificate (a compromised worker host) that
/// tries what only a cluster node may do: down or remove a node, stop the lists actor or the
/// system's actors, at a node's worker-facing port and at its nodes' port.
/// </summary>
internal sealed class HostileWorker : IAsyncDisposable, IDisposable
{
    private readonly ActorSystem _system;

    private HostileWorker(ActorSystem system) => _system = system;

    public static Task<HostileWorker> StartAsync(PemPair certificate)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificate.Certificate, certificate.Key);
        var loaded = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        var config = ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0, enable-ssl = on }
            akka.loglevel = WARNING
            akka.coordinated-shutdown.exit-clr = off
            """);
        var setup = BootstrapSetup.Create().WithConfig(config)
            .And(new DotNettySslSetup(loaded, suppressValidation: true, requireMutualAuthentication: true));
        return Task.FromResult(new HostileWorker(ActorSystem.Create("intruder", setup)));
    }

    /// <summary>
    /// Sends every harmful message it can to both ports, then asks each port's
    /// <c>/user/lists</c> to identify itself (after the rest, on the same association): which answered.
    /// </summary>
    /// <remarks>
    /// The worker-facing port first: a refused handshake at the nodes' port stops this whole
    /// actor system (Akka.Remote does that when a TLS handshake it started fails).
    /// </remarks>
    public async Task<(bool Front, bool Nodes)> TryEverythingAsync(string front, string nodes, Address victim)
    {
        Harm(front, victim);
        var frontAnswered = await IdentifiesAsync(front + "/user/lists");
        Harm(nodes, victim);
        return (frontAnswered, await IdentifiesAsync(nodes + "/user/lists"));
    }

    private void Harm(string address, Address victim)
    {
        foreach (var message in ClusterActions(victim))
        {
            _system.ActorSelection(address + "/system/cluster/core/daemon").Tell(message);
        }

        _system.ActorSelection(address + "/user/lists").Tell(PoisonPill.Instance);
        _system.ActorSelection(address + "/user/lists").Tell(Kill.Instance);
        _system.ActorSelection(address + "/system").Tell(PoisonPill.Instance);
        _system.ActorSelection(address + "/system/sharding/lists").Tell(PoisonPill.Instance);
    }

    public async ValueTask DisposeAsync() => await _system.Terminate().WaitAsync(TimeSpan.FromSeconds(20));

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(20));

    private async Task<bool> IdentifiesAsync(string path)
    {
        try
        {
            return (await _system.ActorSelection(path).Ask<ActorIdentity>(new Identify(1), TimeSpan.FromSeconds(5))).Subject is not null;
        }
        catch (Exception e) when (e is AskTimeoutException or OperationCanceledException or InvalidOperationException)
        {
            return false; // no answer, or this system stopped after its handshake was refused
        }
    }

    /// <summary>The cluster's own Down and Leave of <paramref name="victim"/> (internal types of Akka.Cluster, made by reflection).</summary>
    private static IEnumerable<object> ClusterActions(Address victim)
    {
        var assembly = typeof(Akka.Cluster.Cluster).Assembly;
        foreach (var name in new[] { "Akka.Cluster.ClusterUserAction+Down", "Akka.Cluster.ClusterUserAction+Leave" })
        {
            var type = assembly.GetType(name, throwOnError: true)!;
            yield return Activator.CreateInstance(type, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, [victim], null)!;
        }
    }
}
