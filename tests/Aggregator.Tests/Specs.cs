using Akka.Configuration;
using Protocol;

namespace Aggregator.Tests;

/// <summary>
/// Configuration every actor spec runs with: real remoting and every message serialized.
/// Our messages all have bindings, so they go through ProtocolSerializer; unregistered
/// types stay allowed here only because serialize-messages also checks Akka's own local
/// messages (recovery permits, system messages), which have no binding. The processes
/// refuse unregistered types; Protocol.Tests checks every wire type is bound.
/// </summary>
internal static class Specs
{
    public static Config Config { get; } = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.actor.provider = remote
        akka.actor.serialize-messages = on
        akka.actor.serialization-settings.allow-unregistered-types = true
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        akka.test.timefactor = 2
        """).WithFallback(ProtocolSerializer.Configuration);
}
