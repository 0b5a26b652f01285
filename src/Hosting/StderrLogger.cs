using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace Hosting;

/// <summary>
/// Akka's log, one line an event on stderr, for both processes. A cause is shown as its
/// chain of messages, not a stack trace: operators read these lines; a trace shows only at
/// DEBUG level. With <c>actors.logging.hide-unreachable-warnings = on</c> (the worker's
/// setting) the transport's warnings about a remote address it could not reach (one per
/// failed connection attempt, a warning whose first argument is an <see cref="Address"/>)
/// are left out: the worker says once itself that it is waiting for the aggregator. A
/// failed TLS handshake, which the transport reports as errors caused by a
/// <c>NotSslRecordException</c> or an <c>AuthenticationException</c> over a dozen lines,
/// keeps only its one-line warning (or, in the worker, the worker's own message) below
/// DEBUG level. A peer that went away without a goodbye (a worker that exited or was
/// killed) is reported at INFO, not as a warning and an error, and not at all where the
/// log level is WARNING or above (the worker's). These filters look at
/// types, not at the text of the messages.
/// </summary>
public sealed class StderrLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly bool _traces;
    private readonly bool _info;
    private readonly bool _hideUnreachable;

    public StderrLogger()
    {
        _traces = Context.System.Settings.LogLevel.Equals("DEBUG", StringComparison.OrdinalIgnoreCase);
        _info = Logging.LogLevelFor(Context.System.Settings.LogLevel) <= LogLevel.InfoLevel;
        _hideUnreachable = Context.System.Settings.Config.GetBoolean("actors.logging.hide-unreachable-warnings", false);
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(Write);
    }

    private void Write(LogEvent e)
    {
        if (_hideUnreachable && e is Warning { Message: LogMessage message } && message.Parameters().FirstOrDefault() is Address)
        {
            return;
        }

        if (!_traces && e is Error && IsTlsHandshakeReport(e))
        {
            return;
        }

        var wentAway = e is Warning or Error && PeerWentAway(e);
        if (wentAway && !_info)
        {
            return; // an INFO line, and this system logs from WARNING up (the worker)
        }

        var level = wentAway
            ? "INFO"
            : e.LogLevel().ToString().Replace("Level", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
        var line = new StringBuilder(160)
            .Append('[').Append(level)
            .Append("][").Append(e.Timestamp.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture))
            .Append("][").Append(e.LogSource).Append("] ")
            .Append(OneLine(e.Message?.ToString()));
        for (var cause = e.Cause; cause is not null; cause = cause.InnerException)
        {
            line.Append(" <- ").Append(cause.GetType().Name).Append(": ").Append(OneLine(cause.Message));
        }

        if (_traces && e.Cause is not null)
        {
            line.Append('\n').Append(e.Cause);
        }

        Console.Error.WriteLine(line.ToString());
    }

    /// <summary>The text on one line, without the stack traces some of Akka's messages embed.</summary>
    private string OneLine(string? text)
    {
        if (string.IsNullOrEmpty(text) || !text.Contains('\n', StringComparison.Ordinal))
        {
            return text ?? string.Empty;
        }

        var kept = text.Split('\n').Select(l => l.TrimEnd('\r'))
            .Where(l => l.Trim().Length > 0 && (_traces || !IsTraceLine(l)));
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
    /// Written at INFO level, so that an operator's warnings and errors mean trouble.
    /// </summary>
    private static bool PeerWentAway(LogEvent e)
    {
        if (IsDisassociation(e.Cause))
        {
            return true;
        }

        if (e.Message is LogMessage message)
        {
            foreach (var parameter in message.Parameters())
            {
                if (IsDisassociation(parameter as Exception))
                {
                    return true;
                }
            }
        }

        return false;

        // Akka.Remote keeps the type internal: it is known by its name.
        static bool IsDisassociation(Exception? e) => e?.GetType().FullName == "Akka.Remote.EndpointDisassociatedException";
    }

    private static bool IsTlsHandshakeReport(LogEvent e)
    {
        for (var cause = e.Cause; cause is not null; cause = cause.InnerException)
        {
            if (cause is System.Security.Authentication.AuthenticationException or DotNetty.Handlers.Tls.NotSslRecordException)
            {
                return true;
            }
        }

        return false;
    }
}
