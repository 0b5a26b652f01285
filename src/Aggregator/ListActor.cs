using Akka.Actor;
using Akka.Event;
using Google.Protobuf;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator;

/// <summary>
/// Owns one list: applies appends exactly once per producer offset, answers reads page by
/// page, and holds followers' requests at the end of the list until items arrive.
/// The append protocol lives here, in <see cref="Append"/>.
/// </summary>
public sealed class ListActor : ReceiveActor, IWithTimers
{
    private readonly string _name;
    private readonly ListSettings _settings;
    private readonly ListState _state = new();
    private readonly List<Waiter> _waiters = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ListActor(string name, ListSettings settings)
    {
        _name = name;
        _settings = settings;
        Receive<AppendBatch>(Append);
        Receive<GetResumePosition>(m => Sender.Tell(new ResumePosition
        {
            List = _name,
            Producer = m.Producer,
            NextOffset = _state.NextOffset(m.Producer),
            Length = (ulong)_state.Length,
        }));
        Receive<GetLength>(_ => Sender.Tell(new Length { List = _name, Count = (ulong)_state.Length }));
        Receive<GetRange>(Read);
        Receive<DeleteList>(Delete);
        Receive<ExpireWaiters>(_ => Expire());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string name, ListSettings settings) =>
        Akka.Actor.Props.Create(() => new ListActor(name, settings));

    private void Append(AppendBatch batch)
    {
        if (Names.Check(batch.Producer, "producer id") is { } badProducer)
        {
            Refuse(batch, Refusal.InvalidName, badProducer);
            return;
        }

        if (batch.Items.Length > _settings.MaxBatchBytes)
        {
            Refuse(batch, Refusal.BatchTooLarge,
                $"the batch is {batch.Items.Length} bytes; the limit is {_settings.MaxBatchBytes} (max-batch-bytes)");
            return;
        }

        if (!_state.KnowsProducer(batch.Producer) && _state.ProducerCount >= _settings.MaxProducersPerList)
        {
            Refuse(batch, Refusal.TooManyProducers,
                $"list '{_name}' already has {_state.ProducerCount} producers; the limit is {_settings.MaxProducersPerList}");
            return;
        }

        var next = _state.NextOffset(batch.Producer);
        if (batch.FirstOffset > next)
        {
            Refuse(batch, Refusal.Gap, $"offset {batch.FirstOffset} leaves a gap: resend from {next}");
            return;
        }

        var end = batch.FirstOffset + batch.Count;
        if (end <= next)
        {
            Acknowledge(batch, next, applied: 0, duplicates: batch.Count);
            return;
        }

        if (PackedItems.Validate(batch.Items.Span, batch.Count, _settings.MaxItemBytes) is { } invalid)
        {
            var reason = invalid.Problem switch
            {
                PackedItemsProblem.TooLarge => Refusal.ItemTooLarge,
                PackedItemsProblem.InvalidUtf8 => Refusal.InvalidUtf8,
                _ => Refusal.MalformedBatch,
            };
            Refuse(batch, reason, $"offset {batch.FirstOffset + invalid.Index}: {invalid.Message}");
            return;
        }

        var skip = (uint)(next - batch.FirstOffset);
        var items = skip == 0
            ? batch.Items
            : ByteString.CopyFrom(batch.Items.Span[PackedItems.SkipItems(batch.Items.Span, skip)..]);
        var appended = new ItemsAppended
        {
            Producer = batch.Producer,
            FirstOffset = next,
            Count = batch.Count - skip,
            Items = items,
        };
        _state.Apply(appended);
        Acknowledge(batch, end, appended.Count, skip);
        if (_waiters.Count > 0)
        {
            AnswerWaiters();
        }
    }

    private void Acknowledge(AppendBatch batch, ulong next, uint applied, uint duplicates) =>
        Sender.Tell(new BatchAppended
        {
            List = _name,
            Producer = batch.Producer,
            FirstOffset = batch.FirstOffset,
            NextOffset = next,
            Applied = applied,
            Duplicates = duplicates,
            Length = (ulong)_state.Length,
        });

    private void Refuse(AppendBatch batch, Refusal reason, string message)
    {
        if (reason != Refusal.Gap)
        {
            _log.Warning("Refused a batch for list {0} from producer {1} at offset {2}: {3}",
                _name, batch.Producer, batch.FirstOffset, message);
        }

        Sender.Tell(new AppendRefused
        {
            List = _name,
            Producer = batch.Producer,
            FirstOffset = batch.FirstOffset,
            ExpectedOffset = _state.NextOffset(batch.Producer),
            Reason = reason,
            Message = message,
        });
    }

    private void Read(GetRange request)
    {
        var length = (ulong)_state.Length;
        if (request.Wait && request.From == length)
        {
            _waiters.Add(new Waiter(Sender, request.From, request.MaxCount, DateTime.UtcNow + _settings.FollowWait));
            if (!Timers.IsTimerActive(nameof(ExpireWaiters)))
            {
                Timers.StartPeriodicTimer(nameof(ExpireWaiters), ExpireWaiters.Instance,
                    TimeSpan.FromTicks(Math.Max(_settings.FollowWait.Ticks / 4, TimeSpan.TicksPerMillisecond * 10)));
            }

            return;
        }

        Sender.Tell(Page(request.From, request.MaxCount));
    }

    private ItemRange Page(ulong from, uint maxCount)
    {
        var length = (ulong)_state.Length;
        var (packed, count) = from < length
            ? _state.Items.Read((long)from, maxCount == 0 ? int.MaxValue : (int)Math.Min(maxCount, int.MaxValue),
                _settings.PageMaxBytes)
            : ([], 0);
        return new ItemRange
        {
            List = _name,
            From = from,
            Count = (uint)count,
            Items = UnsafeByteOperations.UnsafeWrap(packed),
            Length = length,
        };
    }

    private void AnswerWaiters()
    {
        var length = (ulong)_state.Length;
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            var waiter = _waiters[i];
            if (waiter.From < length)
            {
                waiter.Follower.Tell(Page(waiter.From, waiter.MaxCount));
                _waiters.RemoveAt(i);
            }
        }

        StopExpiryWhenIdle();
    }

    private void Expire()
    {
        var now = DateTime.UtcNow;
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            var waiter = _waiters[i];
            if (waiter.Deadline <= now)
            {
                waiter.Follower.Tell(Page(waiter.From, waiter.MaxCount));
                _waiters.RemoveAt(i);
            }
        }

        StopExpiryWhenIdle();
    }

    private void StopExpiryWhenIdle()
    {
        if (_waiters.Count == 0)
        {
            Timers.Cancel(nameof(ExpireWaiters));
        }
    }

    private void Delete(DeleteList request)
    {
        var deleted = new ListDeleted { List = _name, Existed = true };
        foreach (var waiter in _waiters)
        {
            waiter.Follower.Tell(deleted);
        }

        _waiters.Clear();
        _log.Info("Deleted list {0} ({1} items, {2} producers)", _name, _state.Length, _state.ProducerCount);
        Sender.Tell(deleted);
        Context.Stop(Self);
    }

    private sealed record Waiter(IActorRef Follower, ulong From, uint MaxCount, DateTime Deadline);

    private sealed class ExpireWaiters : INoSerializationVerificationNeeded
    {
        public static readonly ExpireWaiters Instance = new();
    }
}
