using Akka.Actor;
using Google.Protobuf;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Lists;

/// <summary>Reads: pages of durable items, followers waiting at the end of the list, and the list's figures.</summary>
public sealed partial class ListActor
{
    private Func<ulong, uint, ItemRange>? _page;

    /// <summary>How often waiting followers are looked at: a quarter of the shortest wait among them.</summary>
    private TimeSpan _followTick;

    private Func<ulong, uint, ItemRange> PageOf => _page ??= Page;

    private void Read(GetRange request, IActorRef sender)
    {
        // A list stopping for a hand-over keeps no follower: it is answered at once, as those
        // waiting at the hand-over were, and asks again wherever the list is next.
        if (request.Wait && request.From == (ulong)_state.DurableLength && !_stopping)
        {
            if (_followers.Count >= _settings.MaxFollowersPerList)
            {
                Refusals.Refuse(request, Refusal.Unavailable,
                    $"list '{_name}' holds {_followers.Count} followers waiting, the most it holds (max-followers-per-list); ask again", sender, _metrics, _log);
                return;
            }

            var wait = FollowWaitOf(request);
            _followers.Add(sender, request.From, request.MaxCount, _clock.GetUtcNow().UtcDateTime + wait);
            _metrics.Followers(1);
            var tick = TimeSpan.FromTicks(Math.Max(wait.Ticks / 4, TimeSpan.TicksPerMillisecond * 10));
            if (!Timers.IsTimerActive(nameof(FollowWaitTick)) || tick < _followTick)
            {
                _followTick = tick;
                Timers.StartPeriodicTimer(nameof(FollowWaitTick), FollowWaitTick.Instance, tick);
            }

            return;
        }

        sender.Tell(Page(request.From, request.MaxCount));
    }

    /// <summary>
    /// The list's follow-wait, or the shorter wait the request names (0: none), but not under
    /// 100 ms: a reader cannot make the list answer it in a tight loop.
    /// </summary>
    private TimeSpan FollowWaitOf(GetRange request) =>
        request.WaitMs > 0 && TimeSpan.FromMilliseconds(request.WaitMs) < _settings.FollowWait
            ? TimeSpan.FromMilliseconds(Math.Max(request.WaitMs, 100))
            : _settings.FollowWait;

    /// <summary>Up to <paramref name="maxCount"/> (0: no limit) durable items from <paramref name="from"/>, within a page.</summary>
    private ItemRange Page(ulong from, uint maxCount)
    {
        var (packed, count) = _state.Read(from, maxCount, _settings.PageMaxBytes);
        return new ItemRange
        {
            List = _name,
            From = from,
            Count = (uint)count,
            Items = UnsafeByteOperations.UnsafeWrap(packed),
            Length = (ulong)_state.DurableLength,
            // Once it holds durable items, whose events carry it: an incarnation handed to a
            // producer but not journaled yet may never be, and a follower would take the next
            // one for a deleted list.
            Incarnation = _state.DurableLength > 0 ? _state.Incarnation : 0,
        };
    }

    /// <summary>Followers whose position the durable length passed get their page.</summary>
    private void AnswerFollowers()
    {
        if (_followers.Count > 0)
        {
            var before = _followers.Count;
            _followers.AnswerBelow(_state.DurableLength, PageOf);
            _metrics.Followers(_followers.Count - before);
            StopExpiryWhenIdle();
        }
    }

    private void ExpireFollowers()
    {
        var before = _followers.Count;
        _followers.Expire(_clock.GetUtcNow().UtcDateTime, PageOf);
        _metrics.Followers(_followers.Count - before);
        StopExpiryWhenIdle();
        ArmIdleCheck();
    }

    /// <summary>Every follower gets what there is now (they ask again, wherever the list is next).</summary>
    private void ReleaseFollowers()
    {
        _metrics.Followers(-_followers.Count);
        _followers.AnswerAll(PageOf);
        StopExpiryWhenIdle();
    }

    private void StopExpiryWhenIdle()
    {
        if (_followers.Count == 0)
        {
            Timers.Cancel(nameof(FollowWaitTick));
        }
    }

    private void ReplyStats() => Sender.Tell(new ListStats
    {
        List = _name,
        Length = (ulong)_state.DurableLength,
        Producers = (uint)_state.ProducerCount,
        Followers = (uint)_followers.Count,
        Node = _settings.Node,
        Version = Hosting.ProductInfo.Version,
        Deleted = _deletedSince && _state.IsEmpty && _state.Incarnation == 0 && _followers.Count == 0,
    });

    private sealed class FollowWaitTick : INoSerializationVerificationNeeded
    {
        public static readonly FollowWaitTick Instance = new();
    }
}
