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

    /// <summary>Answers every follower whose position is below <paramref name="durableLength"/> with a page.</summary>
    public void AnswerBelow(long durableLength, Func<ulong, uint, ItemRange> page)
    {
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            var waiter = _waiters[i];
            if (waiter.From < (ulong)durableLength)
            {
                waiter.Follower.Tell(page(waiter.From, waiter.MaxCount));
                _waiters.RemoveAt(i);
            }
        }
    }

    /// <summary>Answers every follower whose wait ended by <paramref name="now"/> with a page (empty, or what arrived).</summary>
    public void Expire(DateTime now, Func<ulong, uint, ItemRange> page)
    {
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            var waiter = _waiters[i];
            if (waiter.Deadline <= now)
            {
                waiter.Follower.Tell(page(waiter.From, waiter.MaxCount));
                _waiters.RemoveAt(i);
            }
        }
    }

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

    private readonly record struct Waiter(IActorRef Follower, ulong From, uint MaxCount, DateTime Deadline);
}
