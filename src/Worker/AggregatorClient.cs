using Akka.Actor;
using Protocol.Messages;

namespace Worker;

/// <summary>
/// Request and reply with the aggregator for the read commands (get, count, follow,
/// delete): every request is idempotent, so a time-out means find the aggregator again and
/// ask again, a bounded number of times.
/// </summary>
public sealed class AggregatorClient(AggregatorLocator locator, TimeSpan connectTimeout, TimeSpan requestTimeout)
{
    private const int Attempts = 3;
    private IActorRef? _lists;

    public string Endpoint => locator.Endpoint;

    /// <exception cref="AggregatorUnreachableException">not found within the connect time-out.</exception>
    /// <exception cref="RequestRefusedException">the aggregator refused the request.</exception>
    public async Task<object> RequestAsync(object request, TimeSpan? extraWait = null, CancellationToken cancellation = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            _lists ??= await locator.LocateAsync(connectTimeout, cancellation);
            try
            {
                var reply = await _lists.Ask<object>(request, requestTimeout + (extraWait ?? TimeSpan.Zero), cancellation);
                return reply is RequestRefused refused ? throw new RequestRefusedException(refused) : reply;
            }
            catch (AskTimeoutException) when (attempt < Attempts)
            {
                _lists = null;
            }
            catch (AskTimeoutException)
            {
                throw new TimeoutException(
                    $"the aggregator at {locator.Endpoint} did not answer {Attempts} requests in a row, each within {requestTimeout.TotalSeconds:0.#} s");
            }
        }
    }
}

public sealed class RequestRefusedException(RequestRefused refused) : Exception(refused.Message)
{
    public Refusal Reason { get; } = refused.Reason;
}
