using Akka.Actor;
using Hosting;
using Protocol.Messages;

namespace Worker;

/// <summary>
/// What the client library's failures mean on the command line: the exit code, and the
/// message in the worker's words (its options named as the user gives them).
/// </summary>
public static class Failures
{
    /// <summary>The exit code and message for <paramref name="e"/>; null for what the common report handles (usage, configuration).</summary>
    public static (int Exit, string Message)? Of(Exception e) => e switch
    {
        InputException => (ExitCodes.Usage, $"bad input: {e.Message}"),
        AggregatorUnreachableException unreachable => (ExitCodes.Unreachable, Unreachable(unreachable)),
        ListDeletedException deleted => (ExitCodes.Failure, Deleted(deleted)),
        AggregatorRefusedException refused => (ExitCode(refused.Reason), $"the aggregator refused the request: {e.Message}"),
        AggregatorException => (ExitCodes.Failure, e.Message),
        ObjectDisposedException => (ExitCodes.Failure, e.Message), // the client's actor system stopped under the command
        _ => null,
    };

    /// <summary>
    /// 2 for what the user can fix in the command or the input (names, sizes, UTF-8); 1 for
    /// the aggregator's state (limits reached, a deleted or broken list, a journal failing).
    /// </summary>
    public static int ExitCode(Refusal reason) => reason switch
    {
        Refusal.InvalidName or Refusal.ItemTooLarge or Refusal.BatchTooLarge or Refusal.MalformedBatch
            or Refusal.InvalidUtf8 => ExitCodes.Usage,
        _ => ExitCodes.Failure,
    };

    public static string Unreachable(AggregatorUnreachableException e) =>
        (e.Endpoints.Count > 1 ? $"none of the aggregators at {string.Join(",", e.Endpoints)} answered" : $"the aggregator at {e.Endpoints[0]} did not answer")
        + $" within {e.Timeout.TotalSeconds:0.###} s (--connect-timeout)"
        + (e.Tls ? " (with TLS on, an aggregator without TLS, or one that refuses this worker's certificate, looks the same: is --tls-cert issued by the authority it trusts?)" : "")
        + (e.Acknowledged is { } acknowledged ? $"; {acknowledged} items of this run's input acknowledged" : "");

    public static string Deleted(ListDeletedException e) =>
        $"list '{e.List}' was deleted while this worker appended to it ({e.Acknowledged} items acknowledged before)";

    /// <summary>The actor system ended before the command: a failed TLS handshake (exit 2), Ctrl+C, or anything else (exit 1).</summary>
    public static async Task<int> StoppedAsync(CoordinatedShutdown.Reason? reason, AggregatorTls? security, string endpoint) => reason switch
    {
        CoordinatedShutdown.ClrExitReason => ExitCodes.Interrupted,
        _ when security is not null && reason?.GetType().Name == "TlsHandshakeFailureReason" => await CommandLine.Common.ExitAsync(ExitCodes.Usage,
            security.LastRefusal is { } refusal
                ? $"the TLS handshake with the aggregator at {endpoint} failed: {refusal} (--tls-ca names the authority this worker trusts)"
                : $"the connection to the aggregator at {endpoint} failed its TLS handshake: the aggregator refused this worker's certificate, or does not use TLS"),
        _ => await CommandLine.Common.ExitAsync(ExitCodes.Failure, $"the actor system stopped: {reason?.ToString() ?? "no reason given"}"),
    };
}
