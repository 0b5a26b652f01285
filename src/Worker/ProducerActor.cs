using Akka.Actor;
using Akka.Event;
using Protocol;
using Protocol.Messages;

namespace Worker;

/// <summary>
/// One producer's sending side: owns the window of unacknowledged batches, the resume
/// position, the retries and the reconnections. The input is read outside the actor and
/// offered batch by batch; an offer is answered only when the window has room, so memory
/// stays bounded by max-in-flight batches whatever the input size.
/// </summary>
public sealed class ProducerActor : ReceiveActor, IWithTimers
{
    private readonly string _list;
    private readonly string _producer;
    private readonly WorkerSettings _settings;
    private readonly AggregatorLocator _locator;
    private readonly TimeSpan _connectTimeout;
    private readonly List<AppendBatch> _pending = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private IActorRef? _aggregator;
    private bool _resumed;
    private bool _started;
    private ulong _acknowledged;
    private ulong _applied;
    private ulong _duplicates;
    private ulong? _gapResentFrom;
    private IActorRef? _starter;
    private IActorRef? _offerer;
    private IActorRef? _finisher;
    private AppendFailed? _failure;

    public ProducerActor(string list, string producer, WorkerSettings settings, AggregatorLocator locator, TimeSpan connectTimeout)
    {
        _list = list;
        _producer = producer;
        _settings = settings;
        _locator = locator;
        _connectTimeout = connectTimeout;

        Receive<Start>(_ => OnStart());
        Receive<Offer>(OnOffer);
        Receive<Finish>(_ => OnFinish());
        Receive<GetProgress>(_ => Sender.Tell(new Progress(_acknowledged, _applied, _duplicates, _aggregator is not null)));
        Receive<Located>(OnLocated);
        Receive<LocateFailed>(m => Fail(ExitCodes.Unreachable,
            $"{m.Reason.Message}; {_acknowledged} items of this run's input acknowledged"));
        Receive<ResumePosition>(OnResumePosition);
        Receive<BatchAppended>(OnAcknowledged);
        Receive<AppendRefused>(OnRefused);
        Receive<RequestRefused>(m => Fail(ExitCodes.Usage, m.Message));
        Receive<AckTimeout>(_ => OnAckTimeout());
        Receive<Terminated>(OnTerminated);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string list, string producer, WorkerSettings settings, AggregatorLocator locator, TimeSpan connectTimeout) =>
        Akka.Actor.Props.Create(() => new ProducerActor(list, producer, settings, locator, connectTimeout));

    protected override void PreStart() => Locate(announce: true);

    /// <param name="announce">false after a loss, which is already announced.</param>
    private void Locate(bool announce)
    {
        _locator.LocateAsync(_connectTimeout, announce: announce).PipeTo(Self,
            success: aggregator => new Located(aggregator),
            failure: e => new LocateFailed(e is AggregatorUnreachableException ? e : e.GetBaseException()));
    }

    private void OnStart()
    {
        if (_failure is not null)
        {
            Sender.Tell(_failure);
            return;
        }

        _starter = Sender;
        if (_resumed)
        {
            ReplyStarted();
        }
    }

    private void ReplyStarted()
    {
        _started = true;
        _starter?.Tell(new Started(_acknowledged));
        _starter = null;
    }

    private void OnLocated(Located located)
    {
        if (_failure is not null)
        {
            return;
        }

        _aggregator = located.Aggregator;
        Context.Watch(_aggregator);
        _aggregator.Tell(new GetResumePosition { List = _list, Producer = _producer });
    }

    private void OnResumePosition(ResumePosition position)
    {
        if (_failure is not null || _aggregator is null)
        {
            return;
        }

        if (!_started)
        {
            _acknowledged = position.NextOffset;
            _resumed = true;
            if (_starter is not null)
            {
                ReplyStarted();
            }

            return;
        }

        // Back after an outage: whatever the aggregator already holds counts as acknowledged.
        if (!Advance(position.NextOffset))
        {
            return;
        }

        _log.Warning("Reconnected to the aggregator at {0}; resending {1} unacknowledged batches from offset {2}",
            _locator.Endpoint, _pending.Count, _acknowledged);
        _resumed = true;
        SendAll();
        AfterProgress();
    }

    private void OnOffer(Offer offer)
    {
        if (_failure is not null)
        {
            Sender.Tell(_failure);
            return;
        }

        _pending.Add(offer.Batch);
        if (_aggregator is not null && _resumed)
        {
            _aggregator.Tell(offer.Batch);
            ArmAckTimer();
        }

        if (_pending.Count < _settings.MaxInFlight)
        {
            Sender.Tell(OfferAccepted.Instance);
        }
        else
        {
            _offerer = Sender;
        }
    }

    private void OnFinish()
    {
        if (_failure is not null)
        {
            Sender.Tell(_failure);
            return;
        }

        _finisher = Sender;
        AfterProgress();
    }

    private void OnAcknowledged(BatchAppended ack)
    {
        if (_failure is not null || ack.NextOffset <= _acknowledged)
        {
            return; // an answer to a batch sent twice: already counted.
        }

        _applied += ack.Applied;
        _duplicates += ack.Duplicates;
        Advance(ack.NextOffset);
        AfterProgress();
    }

    private void OnRefused(AppendRefused refused)
    {
        if (_failure is not null)
        {
            return;
        }

        if (refused.Reason != Refusal.Gap)
        {
            var code = refused.Reason is Refusal.TooManyLists or Refusal.TooManyProducers ? ExitCodes.Failure : ExitCodes.Usage;
            Fail(code, $"the aggregator refused the batch at offset {refused.FirstOffset}: {refused.Message}");
            return;
        }

        if (!Advance(refused.ExpectedOffset) || _gapResentFrom == refused.ExpectedOffset)
        {
            return; // every batch behind the gap is refused too: resend once per gap.
        }

        _gapResentFrom = refused.ExpectedOffset;
        _log.Warning("The aggregator expects offset {0}; resending {1} batches", refused.ExpectedOffset, _pending.Count);
        SendAll();
        AfterProgress();
    }

    private void OnAckTimeout()
    {
        if (_failure is null && _aggregator is not null && _resumed && _pending.Count > 0)
        {
            _log.Warning("No acknowledgement within {0}; resending {1} batches from offset {2}",
                _settings.AckTimeout, _pending.Count, _acknowledged);
            SendAll();
        }
    }

    private void OnTerminated(Terminated terminated)
    {
        if (_failure is not null || !terminated.ActorRef.Equals(_aggregator))
        {
            return;
        }

        _log.Warning("Lost the aggregator at {0}; waiting up to {1} s for it to return",
            _locator.Endpoint, _connectTimeout.TotalSeconds);
        _aggregator = null;
        _resumed = false;
        _gapResentFrom = null;
        Timers.Cancel(nameof(AckTimeout));
        Locate(announce: false);
    }

    /// <summary>
    /// Everything below <paramref name="next"/> is in the list: drop those batches. False
    /// (and the run fails) if the aggregator has lost items it had acknowledged.
    /// </summary>
    private bool Advance(ulong next)
    {
        if (next < _acknowledged)
        {
            Fail(ExitCodes.Failure,
                $"the aggregator expects offset {next} but had acknowledged up to {_acknowledged}: it lost acknowledged items (restarted without a journal?)");
            return false;
        }

        _acknowledged = next;
        while (_pending.Count > 0 && _pending[0].FirstOffset + _pending[0].Count <= next)
        {
            _pending.RemoveAt(0);
        }

        return true;
    }

    private void SendAll()
    {
        if (_aggregator is null)
        {
            return;
        }

        foreach (var batch in _pending)
        {
            _aggregator.Tell(batch);
        }

        ArmAckTimer();
    }

    private void ArmAckTimer() => Timers.StartSingleTimer(nameof(AckTimeout), AckTimeout.Instance, _settings.AckTimeout);

    private void AfterProgress()
    {
        if (_pending.Count == 0)
        {
            Timers.Cancel(nameof(AckTimeout));
        }
        else
        {
            ArmAckTimer();
        }

        if (_offerer is not null && _pending.Count < _settings.MaxInFlight)
        {
            _offerer.Tell(OfferAccepted.Instance);
            _offerer = null;
        }

        if (_finisher is not null && _pending.Count == 0)
        {
            _finisher.Tell(new Finished(_acknowledged, _applied, _duplicates));
            _finisher = null;
        }
    }

    private void Fail(int exitCode, string message)
    {
        _failure = new AppendFailed(exitCode, message);
        Timers.CancelAll();
        foreach (var waiting in new[] { _starter, _offerer, _finisher })
        {
            waiting?.Tell(_failure);
        }

        _starter = _offerer = _finisher = null;
    }

    /// <summary>Answered with <see cref="Started"/> once the aggregator says where to resume.</summary>
    public sealed record Start : INoSerializationVerificationNeeded;

    /// <summary>Every offset below ResumeOffset is already in the list: skip that much input.</summary>
    public sealed record Started(ulong ResumeOffset) : INoSerializationVerificationNeeded;

    /// <summary>The next batch; answered with <see cref="OfferAccepted"/> when the window has room.</summary>
    public sealed record Offer(AppendBatch Batch) : INoSerializationVerificationNeeded;

    public sealed record OfferAccepted : INoSerializationVerificationNeeded
    {
        public static readonly OfferAccepted Instance = new();
    }

    /// <summary>No more input: answered with <see cref="Finished"/> once everything is acknowledged.</summary>
    public sealed record Finish : INoSerializationVerificationNeeded;

    public sealed record Finished(ulong NextOffset, ulong Applied, ulong Duplicates) : INoSerializationVerificationNeeded;

    /// <summary>The run cannot go on: the answer to every request from now on.</summary>
    public sealed record AppendFailed(int ExitCode, string Message) : INoSerializationVerificationNeeded;

    public sealed record GetProgress : INoSerializationVerificationNeeded
    {
        public static readonly GetProgress Instance = new();
    }

    public sealed record Progress(ulong Acknowledged, ulong Applied, ulong Duplicates, bool Connected)
        : INoSerializationVerificationNeeded;

    private sealed record Located(IActorRef Aggregator) : INoSerializationVerificationNeeded;

    private sealed record LocateFailed(Exception Reason) : INoSerializationVerificationNeeded;

    private sealed record AckTimeout : INoSerializationVerificationNeeded
    {
        public static readonly AckTimeout Instance = new();
    }
}
