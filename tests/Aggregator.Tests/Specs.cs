using Akka.Configuration;
using Protocol;

namespace Aggregator.Tests;

/// <summary>Configuration every actor spec runs with: real remoting, strict wire, every message serialized.</summary>
internal static class Specs
{
    public static Config Config { get; } = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.actor.provider = remote
        akka.actor.serialize-messages = on
        akka.actor.serialization-settings.allow-unregistered-types = false
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        akka.test.timefactor = 2
        """).WithFallback(ProtocolSerializer.Configuration);
}
