using Akka.Actor;
using Akka.Event;
using Akka.Remote;
using Protocol.Messages;

namespace Actors.Client;

/// <summary>
/// One producer's sending side: owns the window of unacknowledged batches, the resume
/// position, the retries and the reconnections. The input is read outside the actor and
/// offered batch by batch; an offer is answered only when the window has room, so memory
/// stays bounded by max-in-flight batches whatever the input size.
/// </summary>
/// <remarks>
/// Its states are behaviours: <see cref="Connecting"/> (finding the aggregator),
/// <see cref="Resuming"/> (asking where this producer stands, again until answered),
/// <see cref="Streaming"/> (sending the window), <see cref="Draining"/> (no more input:
/// waiting for the last acknowledgements) and <see cref="Failed"/> (every request is
/// answered with the failure). No wait is without an end: the aggregator is located within
/// the connect time-out, every request is sent again after ack-timeout, and an aggregator
/// that refuses with UNAVAILABLE, or answers nothing, for longer than unavailable-timeout
/// ends the run.
/// </remarks>
internal sealed class ProducerActor : ReceiveActor, IWithTimers
{
    private const string ResendTimer = "resend";
    private const string RetryTimer = "retry";
    private static readonly TimeSpan StallLogInterval = TimeSpan.FromSeconds(10);

    private readonly string _list;
    private readonly string _producer;
    private readonly AggregatorClientOptions _settings;
    private readonly AggregatorLocator _locator;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeProvider _clock;
    private readonly List<AppendBatch> _pending = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private IActorRef? _aggregator;
    private int _contact;
    private ulong _incarnation;
    private bool _started;
    private ulong _acknowledged;
    private ulong _applied;
    private ulong _duplicates;
    private ulong _confirmedByPosition;
    private ulong? _gapResentFrom;
    private DateTime _lastHeard;
    private DateTime? _silentSince;

    /// <summary>Since when batches are pending with no acknowledgement moving on (null: none pending).</summary>
    private DateTime? _waitingSince;
    private TimeSpan _longestWait;
    private DateTime _stallLogged;
    private DateTime? _unavailableSince;
    private string? _unavailableReason;
    private Backoff _backoff;
    private IActorRef? _starter;
    private IActorRef? _offerer;
    private IActorRef? _finisher;

    public ProducerActor(string list, string producer, AggregatorClientOptions settings, AggregatorLocator locator)
    {
        _list = list;
        _producer = producer;
        _settings = settings;
        _locator = locator;
        _connectTimeout = settings.ConnectTimeout;
        _clock = settings.TimeProvider;
        _backoff = new Backoff(settings.RetryMinBackoff, settings.RetryMaxBackoff);
        Connecting();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string list, string producer, AggregatorClientOptions settings, AggregatorLocator locator) =>
        Akka.Actor.Props.Create(() => new ProducerActor(list, producer, settings, locator));

    private DateTime Now => _clock.GetUtcNow().UtcDateTime;

    protected override void PreStart()
    {
        if (_locator.Count > 1)
        {
            // With several contacts, a closed connection is reason enough to move on at once.
            Context.System.EventStream.Subscribe(Self, typeof(DisassociatedEvent));
        }

        Locate(announce: true);
    }

    private void Connecting()
    {
        Receive<Located>(OnLocated);
        Receive<LocateFailed>(m => FailWith(m.Reason is AggregatorUnreachableException unreachable
            ? unreachable.WithAcknowledged(_acknowledged)
            : new AggregatorException($"{m.Reason.Message}; {_acknowledged} items of this run's input acknowledged", m.Reason)));
        Receive<DisassociatedEvent>(_ => { }); // of a contact already given up
        Requests(sendOffers: false);
    }

    private void Resuming()
    {
        Receive<ResumePosition>(OnResumePosition);
        Receive<RequestRefused>(OnResumeRefused);
        Receive<Resend>(_ => AskResumePosition());
        Receive<Retry>(_ => AskResumePosition());
        Receive<Terminated>(OnTerminated);
        Receive<DisassociatedEvent>(OnDisassociated);
        Receive<BatchAppended>(_ => { }); // answers to batches sent before the loss: the position covers them
        Receive<AppendRefused>(_ => { });
        Requests(sendOffers: false);
    }

    private void Streaming()
    {
        StreamingHandlers();
        Requests(sendOffers: true, onFinish: () => Become(Draining));
    }

    /// <summary>No more input: what is in the window is sent until acknowledged; then Finish is answered.</summary>
    private void Draining()
    {
        StreamingHandlers();
        Requests(sendOffers: true);
    }

    private void Failed(AppendFailed failure)
    {
        Receive<GetProgress>(_ => Sender.Tell(CurrentProgress(connected: false)));
        ReceiveAny(message =>
        {
            if (message is Start or Offer or Finish)
            {
                Sender.Tell(failure);
            }
        });
    }

    private void StreamingHandlers()
    {
        Receive<BatchAppended>(OnAcknowledged);
        Receive<AppendRefused>(OnRefused);
        Receive<Resend>(_ => OnAckTimeout());
        Receive<Retry>(_ => SendAll());
        Receive<Terminated>(OnTerminated);
        Receive<DisassociatedEvent>(OnDisassociated);
    }

    /// <summary>What the command loop asks, in every state but <see cref="Failed"/>.</summary>
    private void Requests(bool sendOffers, Action? onFinish = null)
    {
        Receive<Start>(_ =>
        {
            _starter = Sender;
            if (_started)
            {
                ReplyStarted();
            }
        });
        Receive<Offer>(offer => OnOffer(offer, sendOffers));
        Receive<Finish>(_ =>
        {
            _finisher = Sender;
            onFinish?.Invoke();
            AfterProgress();
        });
        Receive<GetProgress>(_ => Sender.Tell(CurrentProgress(connected: _aggregator is not null)));
    }

    private Progress CurrentProgress(bool connected) => new(_acknowledged, _applied, _duplicates, connected,
        _unavailableSince is null ? null : _unavailableReason);

    /// <param name="announce">false after a loss, which is already announced.</param>
    private void Locate(bool announce)
    {
        _locator.LocateAsync(_connectTimeout, _contact, announce: announce).PipeTo(Self,
            success: located => new Located(located.Lists, located.Index),
            failure: e => new LocateFailed(e is AggregatorUnreachableException ? e : e.GetBaseException()));
    }

    private void OnLocated(Located located)
    {
        _aggregator = located.Aggregator;
        _contact = located.Index;
        Context.Watch(_aggregator);
        _lastHeard = Now;
        Become(Resuming);
        AskResumePosition();
    }

    /// <summary>Asks where this producer stands, and again after ack-timeout until answered.</summary>
    private void AskResumePosition()
    {
        if (FailIfSilentTooLong())
        {
            return;
        }

        _aggregator!.Tell(new GetResumePosition { List = _list, Producer = _producer, Incarnation = _incarnation });
        Timers.StartSingleTimer(ResendTimer, Resend.Instance, _settings.AckTimeout);
    }

    private void OnResumePosition(ResumePosition position)
    {
        Heard();
        Timers.Cancel(ResendTimer);
        Timers.Cancel(RetryTimer);
        if (_unavailableSince is not null)
        {
            // It answers again: what was held back for UNAVAILABLE goes out now.
            _log.Warning("The aggregator answers again after {0:0} s", (Now - _unavailableSince.Value).TotalSeconds);
            _unavailableSince = null;
            _unavailableReason = null;
            _backoff.Reset();
        }

        if (position.Incarnation != 0)
        {
            _incarnation = position.Incarnation;
        }

        if (!_started)
        {
            _acknowledged = position.NextOffset;
            _started = true;
            if (_starter is not null)
            {
                ReplyStarted();
            }

            BecomeStreaming();
            return;
        }

        // Back after an outage, or after the aggregator named an offset behind ours.
        if (position.NextOffset < _acknowledged)
        {
            FailWith(new AggregatorLostItemsException(
                $"the aggregator expects offset {position.NextOffset} but had acknowledged up to {_acknowledged}: it lost acknowledged items (restarted without a journal?)"));
            return;
        }

        Advance(position.NextOffset, byPosition: true);
        _log.Warning("Resuming at offset {0} with the aggregator at {1}; resending {2} unacknowledged batches",
            _acknowledged, _locator.Endpoint(_contact), _pending.Count);
        _gapResentFrom = null;
        BecomeStreaming();
        SendAll();
        AfterProgress();
    }

    private void OnResumeRefused(RequestRefused refused)
    {
        Heard();
        switch (refused.Reason)
        {
            case Refusal.ListDeleted:
                FailDeleted();
                break;
            case Refusal.Unavailable:
                Unavailable(refused.Message);
                break;
            default:
                FailWith(new AggregatorRefusedException(refused.Reason, $"the aggregator refused to say where to resume: {refused.Message}"));
                break;
        }
    }

    private void BecomeStreaming()
    {
        if (_finisher is not null)
        {
            Become(Draining);
        }
        else
        {
            Become(Streaming);
        }
    }

    private void ReplyStarted()
    {
        _starter!.Tell(new Started(_acknowledged));
        _starter = null;
    }

    private void OnOffer(Offer offer, bool send)
    {
        _pending.Add(offer.Batch);
        _waitingSince ??= Now;
        if (send && _unavailableSince is null)
        {
            Send(_pending.Count - 1);
            if (!Timers.IsTimerActive(ResendTimer))
            {
                ArmAckTimer();
            }
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

    private void OnAcknowledged(BatchAppended ack)
    {
        Heard();
        if (_silentSince is { } since)
        {
            // After a stall (in a cluster: the list's node died and the list started on another).
            _log.Warning("Acknowledged again after {0:0.0} s without an answer, by {1}", (_lastHeard - since).TotalSeconds, Sender.Path.Address.ToString());
            _silentSince = null;
        }

        if (ack.Incarnation != 0 && _incarnation == 0)
        {
            _incarnation = ack.Incarnation;
        }

        if (_unavailableSince is not null)
        {
            _log.Warning("The aggregator stores items again after {0:0} s", (Now - _unavailableSince.Value).TotalSeconds);
            _unavailableSince = null;
            _unavailableReason = null;
            _backoff.Reset();
        }

        if (ack.NextOffset <= _acknowledged)
        {
            return; // an answer to a batch sent twice: already counted.
        }

        // Of the newly acknowledged offsets, the batch's applied items are the last ones.
        var newlyAcknowledged = ack.NextOffset - _acknowledged;
        var applied = Math.Min(ack.Applied, newlyAcknowledged);
        _applied += applied;
        _duplicates += newlyAcknowledged - applied;
        ClientDiagnostics.Acknowledged(applied, newlyAcknowledged - applied);
        Advance(ack.NextOffset, byPosition: false);
        AfterProgress();
    }

    private void OnRefused(AppendRefused refused)
    {
        Heard();
        switch (refused.Reason)
        {
            case Refusal.Gap when refused.ExpectedOffset < _acknowledged:
                // The list is behind what it acknowledged: deleted, or an aggregator that lost
                // it. Asking where to resume, with the incarnation, tells which.
                Become(Resuming);
                AskResumePosition();
                return;
            case Refusal.Gap:
                Advance(refused.ExpectedOffset, byPosition: true);
                if (_gapResentFrom != refused.ExpectedOffset)
                {
                    // Every batch behind the gap is refused too: resend once per gap.
                    _gapResentFrom = refused.ExpectedOffset;
                    _log.Warning("The aggregator expects offset {0}; resending {1} batches", refused.ExpectedOffset, _pending.Count);
                    SendAll();
                }

                AfterProgress();
                return;
            case Refusal.ListDeleted:
                FailDeleted();
                return;
            case Refusal.Unavailable:
                Unavailable(refused.Message);
                return;
            default:
                FailWith(new AggregatorRefusedException(refused.Reason, $"the aggregator refused the batch at offset {refused.FirstOffset}: {refused.Message}"));
                return;
        }
    }

    /// <summary>
    /// The aggregator cannot store items now (its journal fails): wait with back-off and send
    /// again, for up to unavailable-timeout in a row.
    /// </summary>
    private void Unavailable(string reason)
    {
        var now = Now;
        if (_unavailableSince is null)
        {
            _unavailableSince = now;
            _log.Warning("The aggregator cannot store items of list {0} now: {1}; trying again with back-off for up to {2} (unavailable-timeout)",
                _list, reason, _settings.UnavailableTimeout);
        }

        _unavailableReason = reason;
        if (now - _unavailableSince.Value > _settings.UnavailableTimeout)
        {
            FailWith(new AggregatorUnavailableException(
                $"the aggregator could not store items for {_settings.UnavailableTimeout.TotalSeconds:0.###} s (unavailable-timeout): {reason}; {_acknowledged} items acknowledged (the same producer id resumes after them)",
                _acknowledged));
            return;
        }

        Timers.Cancel(ResendTimer);
        if (!Timers.IsTimerActive(RetryTimer))
        {
            Timers.StartSingleTimer(RetryTimer, Retry.Instance, _backoff.Next());
        }
    }

    private void OnAckTimeout()
    {
        if (FailIfSilentTooLong() || _pending.Count == 0)
        {
            return;
        }

        // Said once when the stall begins, then every 10 s while it lasts.
        var now = Now;
        if (_silentSince is null || now - _stallLogged >= StallLogInterval)
        {
            _log.Warning("No acknowledgement for {0:0.0} s; resending {1} batches from offset {2} every {3}",
                (now - Unanswered).TotalSeconds, _pending.Count, _acknowledged, _settings.AckTimeout);
            _stallLogged = now;
        }

        _silentSince ??= Unanswered;
        SendAll();
    }

    /// <summary>
    /// Since when the aggregator owes an answer: the last thing heard from it, or, when this
    /// producer had nothing pending then (its input was idle), the moment it had again.
    /// </summary>
    private DateTime Unanswered => _waitingSince is { } waiting && waiting > _lastHeard ? waiting : _lastHeard;

    /// <summary>Fails the run (and answers true) when the aggregator has answered nothing for unavailable-timeout.</summary>
    private bool FailIfSilentTooLong()
    {
        var silent = Now - Unanswered;
        if (silent <= _settings.UnavailableTimeout)
        {
            return false;
        }

        FailWith(new AggregatorUnavailableException(
            $"the aggregator at {_locator.Endpoint(_contact)} is connected but has answered nothing for {silent.TotalSeconds:0} s (unavailable-timeout); {_acknowledged} items acknowledged (the same producer id resumes after them)",
            _acknowledged));
        return true;
    }

    private void OnTerminated(Terminated terminated)
    {
        if (terminated.ActorRef.Equals(_aggregator))
        {
            Lost();
        }
    }

    private void OnDisassociated(DisassociatedEvent disassociated)
    {
        if (_aggregator is not null && disassociated.RemoteAddress.Equals(_aggregator.Path.Address))
        {
            Lost();
        }
    }

    /// <summary>The contact is gone: find it again, or, with several, the next one first.</summary>
    private void Lost()
    {
        if (_locator.Count > 1)
        {
            _log.Warning("Lost the aggregator at {0}; trying the other contacts ({1}) for up to {2} s",
                _locator.Endpoint(_contact), _locator.Endpoints, _connectTimeout.TotalSeconds);
            _contact = (_contact + 1) % _locator.Count;
        }
        else
        {
            _log.Warning("Lost the aggregator at {0}; waiting up to {1} s for it to return",
                _locator.Endpoint(_contact), _connectTimeout.TotalSeconds);
        }

        Context.Unwatch(_aggregator);
        _aggregator = null;
        _gapResentFrom = null;
        Timers.CancelAll();
        Become(Connecting);
        Locate(announce: false);
    }

    private void Heard() => _lastHeard = Now;

    /// <summary>Everything below <paramref name="next"/> is in the list: drop those batches.</summary>
    private void Advance(ulong next, bool byPosition)
    {
        if (next <= _acknowledged)
        {
            return;
        }

        if (byPosition)
        {
            _confirmedByPosition += next - _acknowledged;
        }

        _acknowledged = next;
        var drop = 0;
        while (drop < _pending.Count && _pending[drop].FirstOffset + _pending[drop].Count <= next)
        {
            drop++;
        }

        _pending.RemoveRange(0, drop);

        // The longest time something was pending without any acknowledgement moving on.
        var now = Now;
        if (_waitingSince is { } since && now - since > _longestWait)
        {
            _longestWait = now - since;
        }

        _waitingSince = _pending.Count > 0 ? now : null;
    }

    private void SendAll()
    {
        if (_aggregator is null)
        {
            return;
        }

        for (var i = 0; i < _pending.Count; i++)
        {
            Send(i);
        }

        ArmAckTimer();
    }

    /// <summary>Sends the pending batch at <paramref name="index"/>, stamped with the incarnation this producer knows.</summary>
    private void Send(int index)
    {
        var batch = _pending[index];
        if (batch.Incarnation != _incarnation)
        {
            // A sent message may still be waiting to be serialized: never change one, copy it.
            batch = batch.Clone();
            batch.Incarnation = _incarnation;
            _pending[index] = batch;
        }

        _aggregator!.Tell(batch);
    }

    private void ArmAckTimer() => Timers.StartSingleTimer(ResendTimer, Resend.Instance, _settings.AckTimeout);

    private void AfterProgress()
    {
        if (_pending.Count == 0)
        {
            Timers.Cancel(ResendTimer);
        }
        else if (_aggregator is not null && _unavailableSince is null)
        {
            ArmAckTimer();
        }

        if (_offerer is not null && _pending.Count < _settings.MaxInFlight)
        {
            _offerer.Tell(OfferAccepted.Instance);
            _offerer = null;
        }

        if (_finisher is not null && _pending.Count == 0 && _started)
        {
            _finisher.Tell(new Finished(_acknowledged, _applied, _duplicates, _confirmedByPosition, _longestWait));
            _finisher = null;
        }
    }

    private void FailDeleted() => FailWith(new ListDeletedException(_list, _acknowledged));

    private void FailWith(AggregatorException reason)
    {
        var failure = new AppendFailed(reason);
        Timers.CancelAll();
        foreach (var waiting in new[] { _starter, _offerer, _finisher })
        {
            waiting?.Tell(failure);
        }

        _starter = _offerer = _finisher = null;
        Become(() => Failed(failure));
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

    /// <summary>
    /// The end of the run: every offset below NextOffset is acknowledged; of those sent in
    /// this run, Applied were new, Duplicates were in the list already, and
    /// ConfirmedByPosition were acknowledged by a resume position or a gap instead of an
    /// acknowledgement (stored before a reconnection). LongestWait: the longest time batches
    /// were pending without the acknowledged offset moving (a failover, a hand-over, a stall).
    /// </summary>
    public sealed record Finished(ulong NextOffset, ulong Applied, ulong Duplicates, ulong ConfirmedByPosition, TimeSpan LongestWait)
        : INoSerializationVerificationNeeded;

    /// <summary>The run cannot go on: the answer to every request from now on.</summary>
    public sealed record AppendFailed(AggregatorException Reason) : INoSerializationVerificationNeeded;

    public sealed record GetProgress : INoSerializationVerificationNeeded
    {
        public static readonly GetProgress Instance = new();
    }

    /// <summary>Where the run is; Unavailable names why the aggregator cannot store items, while it cannot.</summary>
    public sealed record Progress(ulong Acknowledged, ulong Applied, ulong Duplicates, bool Connected, string? Unavailable)
        : INoSerializationVerificationNeeded;

    private sealed record Located(IActorRef Aggregator, int Index) : INoSerializationVerificationNeeded;

    private sealed record LocateFailed(Exception Reason) : INoSerializationVerificationNeeded;

    private sealed record Resend : INoSerializationVerificationNeeded
    {
        public static readonly Resend Instance = new();
    }

    private sealed record Retry : INoSerializationVerificationNeeded
    {
        public static readonly Retry Instance = new();
    }
}
