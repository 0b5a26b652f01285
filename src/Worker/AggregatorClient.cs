using Akka.Actor;
using Protocol;
using Protocol.Messages;

namespace Worker;

/// <summary>
/// Request and reply with the aggregator for the read commands (get, count, follow,
/// delete): every request is idempotent, so a time-out means find the aggregator again (the
/// next contact first, when there are several) and ask again, a bounded number of times; an
/// UNAVAILABLE refusal (its journal fails) means ask again with back-off, for up to
/// unavailable-timeout.
/// </summary>
public sealed class AggregatorClient(AggregatorLocator locator, TimeSpan connectTimeout, TimeSpan requestTimeout,
    TimeSpan unavailableTimeout, TimeSpan minBackoff, TimeSpan maxBackoff)
{
    private const int Attempts = 3;
    private IActorRef? _lists;
    private int _contact;

    /// <summary>Where requests go now (HOST:PORT).</summary>
    public string Endpoint => locator.Endpoint(_contact);

    /// <exception cref="AggregatorUnreachableException">not found within the connect time-out.</exception>
    /// <exception cref="RequestRefusedException">the aggregator refused the request (UNAVAILABLE: for too long).</exception>
    /// <exception cref="TimeoutException">the aggregator did not answer, <see cref="Attempts"/> times in a row.</exception>
    public async Task<object> RequestAsync(object request, TimeSpan? extraWait = null, CancellationToken cancellation = default)
    {
        var backoff = minBackoff;
        DateTime? unavailableSince = null;
        for (var attempt = 1; ; attempt++)
        {
            if (_lists is null)
            {
                var located = await locator.LocateAsync(connectTimeout, _contact, cancellation);
                (_lists, _contact) = (located.Lists, located.Index);
            }

            object reply;
            try
            {
                reply = await _lists.Ask<object>(request, requestTimeout + (extraWait ?? TimeSpan.Zero), cancellation);
            }
            catch (AskTimeoutException) when (attempt < Attempts)
            {
                _lists = null;
                _contact++;
                continue;
            }
            catch (AskTimeoutException)
            {
                throw new TimeoutException(
                    $"the aggregator at {locator.Endpoints} did not answer {Attempts} requests in a row, each within {requestTimeout.TotalSeconds:0.#} s");
            }

            if (reply is not RequestRefused refused)
            {
                return reply;
            }

            if (refused.Reason != Refusal.Unavailable)
            {
                throw new RequestRefusedException(refused);
            }

            unavailableSince ??= DateTime.UtcNow;
            if (DateTime.UtcNow - unavailableSince.Value > unavailableTimeout)
            {
                throw new RequestRefusedException(refused,
                    $"{refused.Message} (still after {unavailableTimeout.TotalSeconds:0} s of retries: actors.worker.unavailable-timeout)");
            }

            attempt = 0;
            await Task.Delay(backoff, cancellation);
            backoff = backoff * 2 < maxBackoff ? backoff * 2 : maxBackoff;
        }
    }
}

public sealed class RequestRefusedException(RequestRefused refused, string? message = null) : Exception(message ?? refused.Message)
{
    public Refusal Reason { get; } = refused.Reason;

    /// <summary>The exit code for this refusal (<see cref="Refusals.ExitCode"/>).</summary>
    public int ExitCode => Refusals.ExitCode(Reason);
}

/// <summary>What each refusal means for the exit code, in one place.</summary>
public static class Refusals
{
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
}
