using Akka.Actor;
using Akka.Event;
using Protocol.Messages;

namespace Actors.Client;

/// <summary>
/// Request and reply with the aggregator for everything but appends (reads, counts, follow
/// polls, deletes, stats): every such request is idempotent, so a time-out means find the
/// aggregator again (the next contact first, when there are several) and ask again, a bounded
/// number of times; an UNAVAILABLE refusal (its journal fails) means ask again with back-off,
/// for up to the unavailable time-out. The contact found is watched: once Akka says it is gone
/// (a node killed or shut down), the next request looks for another at once instead of waiting
/// out a request time-out. Safe to use from several tasks at once.
/// </summary>
internal sealed class Requests(AggregatorLocator locator, AggregatorClientOptions options)
{
    private const int Attempts = 3;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _closed = new();
    private (IActorRef Lists, int Contact, TaskCompletionSource Gone)? _found;
    private int _next;

    /// <summary>Where requests go now (HOST:PORT).</summary>
    public string Endpoint
    {
        get
        {
            lock (_gate)
            {
                return locator.Endpoint(_found?.Contact ?? _next);
            }
        }
    }

    /// <summary>The aggregator's lists actor, found now if it is not yet.</summary>
    /// <exception cref="AggregatorUnreachableException">not found within the connect time-out.</exception>
    public async Task<IActorRef> ListsAsync(CancellationToken cancellation) => (await FoundAsync(cancellation)).Lists;

    /// <summary>The lists actor, and a task that completes when Akka says it is gone.</summary>
    private async Task<(IActorRef Lists, Task Gone)> FoundAsync(CancellationToken cancellation)
    {
        int startAt;
        lock (_gate)
        {
            if (_found is { } found)
            {
                return (found.Lists, found.Gone.Task);
            }

            startAt = _next;
        }

        var located = await locator.LocateAsync(options.ConnectTimeout, startAt, cancellation);
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_found is { } raced)
            {
                return (raced.Lists, raced.Gone.Task);
            }

            _found = (located.Lists, located.Index, gone);
        }

        locator.System.ActorOf(Props.Create(() => new LossWatcher(located.Lists, gone.Task, this)).WithDeploy(Deploy.Local));
        return (located.Lists, gone.Task);
    }

    /// <summary>Sends <paramref name="request"/> and returns the reply; refusals other than UNAVAILABLE are thrown.</summary>
    /// <param name="extraWait">how much longer than the request time-out the aggregator may take (a follow poll).</param>
    /// <exception cref="AggregatorUnreachableException">not found within the connect time-out.</exception>
    /// <exception cref="AggregatorRefusedException">the aggregator refused the request.</exception>
    /// <exception cref="AggregatorUnavailableException">UNAVAILABLE, or no answer, for too long.</exception>
    /// <exception cref="ObjectDisposedException">the client was disposed, or its actor system stopped, meanwhile.</exception>
    public async Task<object> AskAsync(object request, TimeSpan? extraWait = null, CancellationToken cancellation = default)
    {
        // A disposed client, or a stopped actor system, ends the wait at once: in a stopped
        // system nothing would answer, nor time the ask out.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, _closed.Token);
        try
        {
            return await AskUntilAnsweredAsync(request, extraWait, linked.Token).UnlessStopped(locator.System.WhenTerminated, () =>
            {
                linked.Cancel(); // what it still waits for, it waits no more
                return Stopped();
            });
        }
        catch (OperationCanceledException) when (_closed.IsCancellationRequested && !cancellation.IsCancellationRequested)
        {
            throw Stopped();
        }
    }

    private static ObjectDisposedException Stopped() =>
        new(null, "the aggregator client was disposed, or its actor system stopped, while the request waited");

    private async Task<object> AskUntilAnsweredAsync(object request, TimeSpan? extraWait, CancellationToken cancellation)
    {
        var backoff = new Backoff(options.RetryMinBackoff, options.RetryMaxBackoff);
        var clock = options.TimeProvider;
        long? unavailableSince = null;
        for (var attempt = 1; ; attempt++)
        {
            var (lists, gone) = await FoundAsync(cancellation);
            object reply;
            try
            {
                var ask = lists.Ask<object>(request, options.RequestTimeout + (extraWait ?? TimeSpan.Zero), cancellation);
                if (await Task.WhenAny(ask, gone) != ask)
                {
                    // The contact is gone (a node killed or shut down): ask another now, not after the time-out.
                    ask.Abandon();
                    attempt--;
                    continue;
                }

                reply = await ask;
            }
            catch (AskTimeoutException) when (attempt < Attempts)
            {
                Lost(lists);
                continue;
            }
            catch (AskTimeoutException)
            {
                Lost(lists);
                throw new AggregatorUnavailableException(
                    $"the aggregator at {locator.Endpoints} did not answer {Attempts} requests in a row, each within {options.RequestTimeout.TotalSeconds:0.#} s", 0);
            }

            if (reply is not RequestRefused refused)
            {
                return reply;
            }

            if (refused.Reason != Refusal.Unavailable)
            {
                throw new AggregatorRefusedException(refused.Reason, refused.Message);
            }

            if (unavailableSince is null)
            {
                unavailableSince = clock.GetTimestamp();
                locator.System.Log.Warning("The aggregator cannot answer now: {0}; asking again with back-off for up to {1} s (unavailable-timeout)",
                    refused.Message, options.UnavailableTimeout.TotalSeconds);
            }

            if (clock.GetElapsedTime(unavailableSince.Value) > options.UnavailableTimeout)
            {
                throw new AggregatorUnavailableException(
                    $"{refused.Message} (still after {options.UnavailableTimeout.TotalSeconds:0} s of retries: unavailable-timeout)", 0);
            }

            attempt = 0;
            await Task.Delay(backoff.Next(), clock, cancellation);
        }
    }

    /// <summary>The contact stopped answering: the next request looks again, from the next contact.</summary>
    internal void Lost(IActorRef lists) => GiveUp(lists);

    /// <summary>The client is disposed: requests waiting end, and the watch on the contact found ends.</summary>
    internal void Close()
    {
        _closed.Cancel();
        GiveUp(null);
    }

    /// <summary>
    /// Forgets the contact found and ends its watch: <paramref name="lists"/>, which stopped
    /// answering (the next lookup starts at the contact after it), or whichever it is (null).
    /// </summary>
    private void GiveUp(IActorRef? lists)
    {
        lock (_gate)
        {
            if (_found is { } found && (lists is null || found.Lists.Equals(lists)))
            {
                if (lists is not null)
                {
                    _next = found.Contact + 1;
                }

                _found = null;
                found.Gone.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Watches a found lists actor and tells <see cref="Requests"/> when it is gone, then stops;
    /// stops as well once that contact is given up for another reason (a request time-out, the
    /// client disposed), so that watchers do not pile up.
    /// </summary>
    private sealed class LossWatcher : ReceiveActor
    {
        public LossWatcher(IActorRef lists, Task givenUp, Requests requests)
        {
            Context.Watch(lists);
            givenUp.PipeTo(Self, success: () => GivenUp.Instance);
            Receive<Terminated>(_ =>
            {
                requests.Lost(lists);
                Context.Stop(Self);
            });
            Receive<GivenUp>(_ => Context.Stop(Self));
        }

        private sealed class GivenUp : INoSerializationVerificationNeeded
        {
            public static readonly GivenUp Instance = new();
        }
    }
}
