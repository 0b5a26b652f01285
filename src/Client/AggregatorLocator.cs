using Akka.Actor;
using Akka.Event;
using Protocol;

namespace Actors.Client;

/// <summary>
/// Finds an aggregator's lists actor by <c>ActorSelection</c> + <c>Identify</c>: one
/// contact, or several nodes of a cluster tried in turn (any node routes to every list),
/// round after round with exponential back-off until a deadline. Immutable: the producer
/// actor pipes its result to itself, <see cref="Requests"/> awaits it; each remembers which
/// contact answered, to start from the next one after a loss.
/// </summary>
internal sealed class AggregatorLocator
{
    private static readonly TimeSpan MaxAttempt = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long nobody answers before the warning that the aggregator does not answer yet: a
    /// worker started with its aggregator (a script, a compose file, the demo) can come first
    /// by a moment, and finds it at its next try without a word.
    /// </summary>
    private static readonly TimeSpan AnnounceAfter = TimeSpan.FromSeconds(1);
    private readonly ActorSystem _system;
    private readonly IReadOnlyList<Endpoint> _endpoints;
    private readonly string[] _paths;
    private readonly AggregatorClientOptions _options;

    public AggregatorLocator(ActorSystem system, IReadOnlyList<Endpoint> endpoints, AggregatorClientOptions options)
    {
        if (endpoints.Count == 0)
        {
            throw new ArgumentException("no aggregator to contact", nameof(endpoints));
        }

        _system = system;
        _endpoints = endpoints;
        _options = options;
        var protocol = ((ExtendedActorSystem)system).Provider.DefaultAddress.Protocol;
        _paths = endpoints.Select(e => ActorNames.ListsPath(e.Host, e.Port, protocol)).ToArray();
    }

    /// <summary>The actor system the client runs in.</summary>
    public ActorSystem System => _system;

    /// <summary>The contacts, as given.</summary>
    public IReadOnlyList<Endpoint> Contacts => _endpoints;

    /// <summary>How many contacts there are: more than one is a cluster's nodes.</summary>
    public int Count => _endpoints.Count;

    /// <summary>Every contact, as the user gave them.</summary>
    public string Endpoints => string.Join(",", _endpoints);

    /// <summary>The contact at <paramref name="index"/> (HOST:PORT).</summary>
    public string Endpoint(int index) => _endpoints[index % _endpoints.Count].ToString();

    /// <summary>The lists actor's path on the contact at <paramref name="index"/>.</summary>
    public string Path(int index) => _paths[index % _paths.Length];

    /// <param name="startAt">the contact to try first (the one after a lost contact).</param>
    /// <param name="announce">say once, in the client's log (a warning), that no aggregator answers yet, after <see cref="AnnounceAfter"/>.</param>
    /// <exception cref="AggregatorUnreachableException">nothing answered within <paramref name="timeout"/>.</exception>
    public async Task<Located> LocateAsync(TimeSpan timeout, int startAt = 0, CancellationToken cancellation = default, bool announce = true)
    {
        var clock = _options.TimeProvider;
        var started = clock.GetTimestamp();
        var backoff = new Backoff(_options.RetryMinBackoff, _options.RetryMaxBackoff);
        while (true)
        {
            for (var i = 0; i < _endpoints.Count; i++)
            {
                var index = (startAt + i) % _endpoints.Count;
                var remaining = timeout - clock.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    throw new AggregatorUnreachableException(_endpoints, timeout, _paths[0].StartsWith("akka.ssl.", StringComparison.Ordinal));
                }

                try
                {
                    var identity = await _system.ActorSelection(_paths[index])
                        .Ask<ActorIdentity>(new Identify(null), Min(remaining, MaxAttempt), cancellation);
                    if (identity.Subject is not null)
                    {
                        return new Located(identity.Subject, index);
                    }
                }
                catch (AskTimeoutException)
                {
                    // Not there (yet): the next contact, or again after the back-off.
                }
            }

            if (announce && clock.GetElapsedTime(started) >= AnnounceAfter)
            {
                announce = false;
                _system.Log.Warning("The aggregator at {0} does not answer yet; trying again for up to {1:0.###} s in all (connect-timeout)",
                    Endpoints, timeout.TotalSeconds);
            }

            var left = timeout - clock.GetElapsedTime(started);
            if (left > TimeSpan.Zero)
            {
                await Task.Delay(Min(backoff.Next(), left), clock, cancellation);
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>The lists actor found, and the index of the contact that answered.</summary>
    public sealed record Located(IActorRef Lists, int Index);
}
