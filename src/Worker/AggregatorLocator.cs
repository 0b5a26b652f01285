using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Protocol;

namespace Worker;

/// <summary>
/// Finds the aggregator's lists actor by <c>ActorSelection</c> + <c>Identify</c>, trying
/// again with exponential back-off until a deadline. Immutable: the append actor pipes its
/// result to itself, the read commands await it.
/// </summary>
public sealed class AggregatorLocator(ActorSystem system, string host, int port, TimeSpan minBackoff, TimeSpan maxBackoff)
{
    private static readonly TimeSpan MaxAttempt = TimeSpan.FromSeconds(2);

    /// <summary>HOST:PORT as the user gave it.</summary>
    public string Endpoint { get; } = host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";

    /// <summary>The lists actor's path, in the protocol of this system's transport (TLS or not).</summary>
    public string Path { get; } = ActorNames.ListsPath(host, port, ((ExtendedActorSystem)system).Provider.DefaultAddress.Protocol);

    /// <param name="announce">say once, on stderr, that the aggregator does not answer yet.</param>
    /// <exception cref="AggregatorUnreachableException">nothing answered within <paramref name="timeout"/>.</exception>
    public async Task<IActorRef> LocateAsync(TimeSpan timeout, CancellationToken cancellation = default, bool announce = true)
    {
        var clock = Stopwatch.StartNew();
        var backoff = minBackoff;
        var selection = system.ActorSelection(Path);
        while (true)
        {
            var remaining = timeout - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                throw new AggregatorUnreachableException(Endpoint, timeout, Path.StartsWith("akka.ssl.", StringComparison.Ordinal));
            }

            try
            {
                var identity = await selection.Ask<ActorIdentity>(new Identify(null), Min(remaining, MaxAttempt), cancellation);
                if (identity.Subject is not null)
                {
                    return identity.Subject;
                }
            }
            catch (AskTimeoutException)
            {
                // Not there (yet): try again after the back-off.
            }

            if (announce)
            {
                announce = false;
                system.Log.Warning("The aggregator at {0} does not answer yet; trying again for up to {1:0.###} s (--connect-timeout)",
                    Endpoint, timeout.TotalSeconds);
            }

            remaining = timeout - clock.Elapsed;
            if (remaining > TimeSpan.Zero)
            {
                await Task.Delay(Min(backoff, remaining), cancellation);
            }

            backoff = Min(backoff * 2, maxBackoff);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

public sealed class AggregatorUnreachableException(string endpoint, TimeSpan timeout, bool tls = false)
    : Exception($"the aggregator at {endpoint} did not answer within {timeout.TotalSeconds:0.###} s (--connect-timeout)"
        + (tls ? " (with TLS on, an aggregator without TLS, or one that refuses this worker's certificate, looks the same: is --tls-cert issued by the authority it trusts?)" : ""))
{
    public string Endpoint { get; } = endpoint;
}
