using Akka.Actor;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Lists;

/// <summary>
/// The followers waiting at the end of one list (long polls: <c>GetRange</c> with
/// <c>wait</c>), each answered once, when the list's durable length passes its position
/// or when its wait expires. Owned by one <see cref="ListActor"/>; not thread-safe.
/// </summary>
public sealed class Followers
{
    private readonly List<Waiter> _waiters = [];

    public int Count => _waiters.Count;

    public void Add(IActorRef follower, ulong from, uint maxCount, DateTime deadline) =>
        _waiters.Add(new Waiter(follower, from, maxCount, deadline));

    /// <summary>
    /// Answers every follower whose position is below <paramref name="durableLength"/> with a
    /// page. Followers at the same position share one page: tailing one list, they all wait
    /// at its end, and each new batch would otherwise be copied once a follower.
    /// </summary>
    public void AnswerBelow(long durableLength, Func<ulong, uint, ItemRange> page) =>
        Answer(waiter => waiter.From < (ulong)durableLength, page);

    /// <summary>Answers every follower whose wait ended by <paramref name="now"/> with a page (empty, or what arrived).</summary>
    public void Expire(DateTime now, Func<ulong, uint, ItemRange> page) => Answer(waiter => waiter.Deadline <= now, page);

    /// <summary>Answers every follower with a page and forgets them all.</summary>
    public void AnswerAll(Func<ulong, uint, ItemRange> page) => Expire(DateTime.MaxValue, page);

    /// <summary>Sends <paramref name="message"/> to every follower and forgets them all.</summary>
    public void TellAll(object message)
    {
        foreach (var waiter in _waiters)
        {
            waiter.Follower.Tell(message);
        }

        _waiters.Clear();
    }

    /// <summary>Answers the due followers in the order they came, keeping the rest in theirs.</summary>
    private void Answer(Func<Waiter, bool> due, Func<ulong, uint, ItemRange> page)
    {
        Dictionary<(ulong From, uint MaxCount), ItemRange>? pages = null;
        var kept = 0;
        for (var i = 0; i < _waiters.Count; i++)
        {
            var waiter = _waiters[i];
            if (!due(waiter))
            {
                _waiters[kept++] = waiter;
                continue;
            }

            pages ??= [];
            var key = (waiter.From, waiter.MaxCount);
            if (!pages.TryGetValue(key, out var answer))
            {
                pages[key] = answer = page(waiter.From, waiter.MaxCount);
            }

            waiter.Follower.Tell(answer);
        }

        _waiters.RemoveRange(kept, _waiters.Count - kept);
    }

    private readonly record struct Waiter(IActorRef Follower, ulong From, uint MaxCount, DateTime Deadline);
}
