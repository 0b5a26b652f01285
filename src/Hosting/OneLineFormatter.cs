using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Hosting;

/// <summary>What the one-line log leaves out or shows.</summary>
public sealed class OneLineFormatterOptions : ConsoleFormatterOptions
{
    /// <summary>The lowest level written; a peer that went away is written at INFO, so only from INFO down.</summary>
    public LogLevel Minimum { get; set; } = LogLevel.Information;

    /// <summary>Stack traces below a cause's chain of messages (at DEBUG).</summary>
    public bool Traces { get; set; }

    /// <summary>The transport's warnings about a remote address it could not reach, one per failed attempt (the worker leaves them out).</summary>
    public bool HideUnreachable { get; set; }
}

/// <summary>
/// The log of both processes, one line an event on stderr, through Microsoft.Extensions.Logging
/// (Akka's events arrive through Akka.Hosting's logger bridge, or the client's, with the
/// <see cref="LogEvent"/> as their state): <c>[LEVEL][yyyy-MM-dd HH:mm:ss.fff][source] message</c>.
/// A cause is shown as its chain of messages, not a stack trace (operators read these lines);
/// a trace shows only at DEBUG. The transport's warnings about an address it could not reach
/// (a warning whose first argument is an <see cref="Address"/>) are left out where asked; a
/// failed TLS handshake, which the transport reports as errors caused by a
/// <c>NotSslRecordException</c> or an <c>AuthenticationException</c> over a dozen lines, keeps
/// only its one-line warning below DEBUG; a peer that went away without a goodbye (a worker that
/// exited or was killed) is written at INFO, not as a warning or an error. These filters look at
/// types, not at the text of the messages.
/// </summary>
public sealed class OneLineFormatter : ConsoleFormatter, IDisposable
{
    /// <summary>The formatter's name in the console logger's options.</summary>
    public const string FormatterName = "one-line";

    private readonly IDisposable? _reload;
    private OneLineFormatterOptions _options;

    public OneLineFormatter(IOptionsMonitor<OneLineFormatterOptions> options) : base(FormatterName)
    {
        _options = options.CurrentValue;
        _reload = options.OnChange(changed => _options = changed);
    }

    /// <summary>With options fixed for the formatter's life (<see cref="OneLineLoggerFactory"/>).</summary>
    public OneLineFormatter(OneLineFormatterOptions options) : base(FormatterName) => _options = options;

    public void Dispose() => _reload?.Dispose();

    public override void Write<TState>(in LogEntry<TState> entry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        if (LineOf(entry) is { } line)
        {
            textWriter.Write(line);
        }
    }

    /// <summary>The entry's line with its newline, or null where it is left out.</summary>
    public string? LineOf<TState>(in LogEntry<TState> entry) => Format(Read(entry)) is { } line ? line + "\n" : null;

    /// <summary>
    /// An entry as one event: Akka's (a <see cref="LogEvent"/> from the client's bridge, or the
    /// structured state of Akka.Hosting's, with the message's arguments and Akka's metadata), or
    /// the host's own.
    /// </summary>
    private static Event Read<TState>(in LogEntry<TState> entry)
    {
        var level = entry.LogLevel switch
        {
            LogLevel.Trace or LogLevel.Debug => "DEBUG",
            LogLevel.Information => "INFO",
            LogLevel.Warning => "WARNING",
            _ => "ERROR",
        };
        if (entry.State is LogEvent e)
        {
            level = e.LogLevel().ToString().Replace("Level", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
            var parameters = e.Message is LogMessage message ? message.Parameters().ToArray() : [];
            return new Event(level, e.Timestamp, e.LogSource, e.Message?.ToString(), e.Cause, parameters, true);
        }

        if (entry.State is IEnumerable<KeyValuePair<string, object?>> properties && properties.Any(p => p.Key == "LogSource"))
        {
            DateTime time = DateTime.UtcNow;
            string source = entry.Category, template = string.Empty;
            var arguments = new List<object?>();
            foreach (var (key, value) in properties)
            {
                switch (key)
                {
                    case "LogSource":
                        source = value?.ToString() ?? source;
                        break;
                    case "Timestamp" when value is DateTimeOffset at:
                        time = at.UtcDateTime;
                        break;
                    case "{OriginalFormat}":
                        template = value?.ToString() ?? string.Empty;
                        break;
                    case "ActorPath" or "Thread" or "TraceId" or "SpanId" or "TraceFlags":
                        break;
                    default:
                        arguments.Add(value);
                        break;
                }
            }

            var text = arguments.Count == 0 ? template : SemanticLogMessageFormatter.Instance.Format(template, arguments.ToArray());
            return new Event(level, time, source, text, entry.Exception, arguments.ToArray(), true);
        }

        return new Event(level, DateTime.UtcNow, entry.Category, entry.Formatter?.Invoke(entry.State, entry.Exception), entry.Exception, [], false);
    }

    /// <summary>The event's line, or null where it is left out.</summary>
    private string? Format(Event e)
    {
        if (e.FromAkka)
        {
            if (_options.HideUnreachable && e.Level == "WARNING" && e.Arguments.FirstOrDefault() is Address)
            {
                return null;
            }

            if (!_options.Traces && e.Level == "ERROR" && IsTlsHandshakeReport(e.Cause))
            {
                return null;
            }

            if (e.Level is "WARNING" or "ERROR" && PeerWentAway(e))
            {
                if (_options.Minimum > LogLevel.Information)
                {
                    return null;
                }

                e = e with { Level = "INFO" };
            }
        }

        var line = Start(e.Level, e.Time, e.Source).Append(OneLine(e.Message));
        AppendCauses(line, e.Cause);
        return line.ToString();
    }

    private static StringBuilder Start(string level, DateTime time, string source) => new StringBuilder(160)
        .Append('[').Append(level)
        .Append("][").Append(time.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture))
        .Append("][").Append(source).Append("] ");

    private void AppendCauses(StringBuilder line, Exception? first)
    {
        for (var cause = first; cause is not null; cause = cause.InnerException)
        {
            line.Append(" <- ").Append(cause.GetType().Name).Append(": ").Append(OneLine(cause.Message));
        }

        if (_options.Traces && first is not null)
        {
            line.Append('\n').Append(first);
        }
    }

    /// <summary>The text on one line, without the stack traces some of Akka's messages embed.</summary>
    private string OneLine(string? text)
    {
        if (string.IsNullOrEmpty(text) || !text.Contains('\n', StringComparison.Ordinal))
        {
            return text ?? string.Empty;
        }

        var kept = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0 && (_options.Traces || !IsTraceLine(l)));
        return string.Join(" ", kept);
    }

    private static bool IsTraceLine(string line)
    {
        var trimmed = line.TrimStart();
        return trimmed.StartsWith("at ", StringComparison.Ordinal) || trimmed.StartsWith("--- End of", StringComparison.Ordinal);
    }

    /// <summary>
    /// The transport's report that a peer closed its connection without saying goodbye
    /// (Akka.Remote's internal <c>EndpointDisassociatedException</c>, as cause or argument): a
    /// worker that exits, or is killed, does that, and it is no error of this process's.
    /// </summary>
    private static bool PeerWentAway(Event e) => IsDisassociation(e.Cause) || e.Arguments.Any(a => IsDisassociation(a as Exception));

    // Akka.Remote keeps the type internal: it is known by its name.
    private static bool IsDisassociation(Exception? e) => e?.GetType().FullName == "Akka.Remote.EndpointDisassociatedException";

    private static bool IsTlsHandshakeReport(Exception? first)
    {
        for (var cause = first; cause is not null; cause = cause.InnerException)
        {
            if (cause is System.Security.Authentication.AuthenticationException or DotNetty.Handlers.Tls.NotSslRecordException)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>One log event, whichever bridge it came through.</summary>
/// <param name="FromAkka">whether Akka logged it (the filters apply to Akka's events only).</param>
internal sealed record Event(string Level, DateTime Time, string Source, string? Message, Exception? Cause, object?[] Arguments, bool FromAkka);

/// <summary>The one-line stderr log, for a process's <see cref="ILoggingBuilder"/>.</summary>
public static class OneLineLogging
{
    /// <summary>
    /// Replaces the providers with the console logger writing every level to stderr through
    /// <see cref="OneLineFormatter"/>, from <paramref name="minimum"/> up.
    /// </summary>
    public static ILoggingBuilder AddOneLineStderr(this ILoggingBuilder logging, LogLevel minimum, bool traces = false, bool hideUnreachable = false)
    {
        logging.ClearProviders()
            .SetMinimumLevel(minimum)
            .AddConsole(console =>
            {
                console.FormatterName = OneLineFormatter.FormatterName;
                console.LogToStandardErrorThreshold = LogLevel.Trace;
            })
            .AddConsoleFormatter<OneLineFormatter, OneLineFormatterOptions>(options =>
            {
                options.Minimum = minimum;
                options.Traces = traces;
                options.HideUnreachable = hideUnreachable;
            });
        return logging;
    }

    /// <summary>The Microsoft.Extensions.Logging level of Akka's <c>akka.loglevel</c> (DEBUG, INFO, WARNING, ERROR, OFF).</summary>
    public static LogLevel LevelOf(string akkaLevel) => akkaLevel.ToUpperInvariant() switch
    {
        "DEBUG" => LogLevel.Debug,
        "INFO" => LogLevel.Information,
        "WARNING" => LogLevel.Warning,
        "ERROR" => LogLevel.Error,
        _ => LogLevel.None,
    };

    /// <summary>
    /// A logger factory writing the one-line log to stderr, with the level and filters of a
    /// checked configuration file: for a process without a host (<see cref="OneLineLoggerFactory"/>).
    /// </summary>
    public static ILoggerFactory FactoryFor(HoconFile file)
    {
        var level = file.LogLevel();
        return new OneLineLoggerFactory(Console.Error, new OneLineFormatterOptions
        {
            Minimum = LevelOf(level),
            Traces = level == "DEBUG",
            HideUnreachable = file.Config.HasPath("actors.logging.hide-unreachable-warnings") && file.GetBoolean("actors.logging.hide-unreachable-warnings"),
        });
    }
}
