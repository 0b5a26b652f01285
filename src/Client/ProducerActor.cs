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
internal sealed partial class ProducerActor : ReceiveActor, IWithTimers
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

    /// <summary>This run of the producer id, in every request: the list refuses an earlier run's batches once a later one asked or appended.</summary>
    private readonly ulong _session = (ulong)Random.Shared.NextInt64(1, long.MaxValue);

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

    /// <summary>
    /// An exception in a handler (a defect) fails the run: the calls waiting get the failure,
    /// and the actor stops rather than start again knowing nothing of this run.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _log.Error(reason, "The producer {0} of list {1} failed on {2}", _producer, _list, message?.GetType().Name ?? "nothing");
        FailWith(new AggregatorException(
            $"the producer of list '{_list}' failed: {reason.Message}; {_acknowledged} items acknowledged (the same producer id resumes after them)", reason));
        base.PreRestart(reason, message);
    }

    protected override void PostRestart(Exception reason) => Context.Stop(Self);

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
        Receive<ResumePosition>(OnResumePosition, m => FromAggregator(m.List, m.Producer));
        Receive<RequestRefused>(OnResumeRefused, m => FromAggregator(m.List, _producer));
        Receive<Resend>(_ => AskResumePosition());
        Receive<Retry>(_ => AskResumePosition());
        Receive<Terminated>(OnTerminated);
        Receive<DisassociatedEvent>(OnDisassociated);
        Receive<BatchAppended>(_ => { }); // answers to batches sent before the loss: the position covers them
        Receive<AppendRefused>(_ => { });
        IgnoreStrangers();
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
        Receive<BatchAppended>(OnAcknowledged, m => FromAggregator(m.List, m.Producer));
        Receive<AppendRefused>(OnRefused, m => FromAggregator(m.List, m.Producer));
        IgnoreStrangers();
        Receive<Resend>(_ => OnAckTimeout());
        Receive<Retry>(_ => SendAll());
        Receive<Terminated>(OnTerminated);
        Receive<DisassociatedEvent>(OnDisassociated);
    }

    /// <summary>
    /// An answer about this producer from the aggregator it found: the actor's reference is
    /// on every connection of its actor system, so an answer from any other address (another
    /// process reaching it), or about another list or producer, is not taken for one.
    /// </summary>
    private bool FromAggregator(string list, string producer) =>
        _aggregator is not null && Sender.Path.Address.Equals(_aggregator.Path.Address) && list == _list && producer == _producer;

    /// <summary>
    /// Answers the state's handlers did not take: dropped, and logged when they were not the
    /// aggregator's (a late answer of its own, such as a second resume position, is not news).
    /// </summary>
    private void IgnoreStrangers()
    {
        Receive<ResumePosition>(m => Drop(m, m.List, m.Producer));
        Receive<RequestRefused>(m => Drop(m, m.List, _producer));
        Receive<BatchAppended>(m => Drop(m, m.List, m.Producer));
        Receive<AppendRefused>(m => Drop(m, m.List, m.Producer));
    }

    private void Drop(object answer, string list, string producer)
    {
        if (!FromAggregator(list, producer))
        {
            _log.Warning("Ignored a {0} from {1}: not an answer of the aggregator at {2} about producer {3} of list '{4}'",
                answer.GetType().Name, Sender.Path, _aggregator?.Path.Address.ToString() ?? "(none yet)", _producer, _list);
        }
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
        Receive<Finish>(finish =>
        {
            if (finish.Last is { } last)
            {
                Take(last, sendOffers);
            }

            _finisher = Sender;
            onFinish?.Invoke();
            AfterProgress();
        });
        Receive<GetProgress>(_ => Sender.Tell(CurrentProgress(connected: _aggregator is not null)));
    }

    private Progress CurrentProgress(bool connected) => new(_acknowledged, _applied, _duplicates, connected,
        _unavailableSince is null ? null : _unavailableReason);

    /// <summary>
    /// Since when the aggregator owes an answer: the last thing heard from it, or, when this
    /// producer had nothing pending then (its input was idle), the moment it had again.
    /// </summary>
    private DateTime Unanswered => _waitingSince is { } waiting && waiting > _lastHeard ? waiting : _lastHeard;
}
