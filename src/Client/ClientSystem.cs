using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;
using Microsoft.Extensions.Logging;
using Protocol;

namespace Actors.Client;

/// <summary>
/// The client's own actor system: remoting on loopback's any port (replies come back to it),
/// the wire's serializer bound in code, Akka's serializers that would build a type named by the
/// wire refused, and its log sent to the application's <see cref="ILoggerFactory"/> if it gave one.
/// </summary>
internal static class ClientSystem
{
    internal const string Defaults = """
        akka {
          loglevel = WARNING
          stdout-loglevel = OFF
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
          actor {
            provider = remote
            serializers {
              json = "Protocol.RefusingJsonSerializer, Protocol"
              proto = "Protocol.RefusingProtobufSerializer, Protocol"
              daemon-create = "Protocol.RefusingDeploymentSerializer, Protocol"
              akka-misc = "Protocol.GuardedMiscSerializer, Protocol"
              akka-system-msg = "Protocol.GuardedSystemMessageSerializer, Protocol"
            }
            serialization-settings.allow-unregistered-types = false
          }
          remote {
            log-remote-lifecycle-events = off
            untrusted-mode = on
            trusted-selection-paths = []
            retry-gate-closed-for = 50ms
            watch-failure-detector { heartbeat-interval = 1s, acceptable-heartbeat-pause = 4s }
            dot-netty.tcp { hostname = 127.0.0.1, port = 0, maximum-frame-size = 128000b }
          }
          coordinated-shutdown { exit-clr = off, run-by-clr-shutdown-hook = off }
        }
        """;

    public static ActorSystem Start(AggregatorClientOptions options)
    {
        var config = ConfigurationFactory.ParseString(options.AkkaConfig ?? string.Empty)
            .WithFallback(options.SystemConfig ?? ConfigurationFactory.Empty)
            .WithFallback(ConfigurationFactory.ParseString(Defaults));
        if (options.LoggerFactory is not null)
        {
            config = ConfigurationFactory.ParseString($"akka.loggers = [\"{typeof(MicrosoftLogger).FullName}, {typeof(MicrosoftLogger).Assembly.GetName().Name}\"]")
                .WithFallback(config);
        }
        else if (options.SystemConfig is null && (options.AkkaConfig is null || !config.HasPath("akka.loggers")))
        {
            config = ConfigurationFactory.ParseString("akka.loglevel = OFF").WithFallback(config);
        }

        if (options.Tls is not null)
        {
            config = ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = on").WithFallback(config);
        }

        options.CheckFrame(config, options.SystemName);
        var setup = BootstrapSetup.Create().WithConfig(config).And(ProtocolSerializer.Setup);
        if (options.LoggerFactory is { } factory)
        {
            setup = setup.And(new LoggerFactorySetup(factory));
        }

        return ActorSystem.Create(options.SystemName, options.Tls is { } tls ? setup.And(tls.SslSetup()) : setup);
    }

    /// <summary>The application's logger factory, handed to the system's logger through its setup.</summary>
    private sealed class LoggerFactorySetup(ILoggerFactory factory) : Akka.Actor.Setup.Setup
    {
        public ILoggerFactory Factory { get; } = factory;
    }

    /// <summary>Akka's log to Microsoft.Extensions.Logging, one category per log source.</summary>
    private sealed class MicrosoftLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
    {
        public MicrosoftLogger()
        {
            var factory = Context.System.Settings.Setup.Get<LoggerFactorySetup>().Value?.Factory;
            Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
            Receive<LogEvent>(e =>
            {
                var logger = factory?.CreateLogger(e.LogSource);
                if (logger is null)
                {
                    return;
                }

                var level = e.LogLevel() switch
                {
                    Akka.Event.LogLevel.DebugLevel => Microsoft.Extensions.Logging.LogLevel.Debug,
                    Akka.Event.LogLevel.InfoLevel => Microsoft.Extensions.Logging.LogLevel.Information,
                    Akka.Event.LogLevel.WarningLevel => Microsoft.Extensions.Logging.LogLevel.Warning,
                    _ => Microsoft.Extensions.Logging.LogLevel.Error,
                };
                // The event itself is the state (as Akka.Hosting's bridge does): a formatter can look at it.
                logger.Log(level, default, e, e.Cause, static (ev, _) => ev.Message?.ToString() ?? string.Empty);
            });
        }
    }
}
