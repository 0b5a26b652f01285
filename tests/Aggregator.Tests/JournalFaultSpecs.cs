using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.TestKit;
using Protocol;
using Protocol.Messages;
using Xunit.Abstractions;

namespace Aggregator.Tests;

/// <summary>
/// Journaled lists against a journal that fails, rejects, stalls and
/// drops on command (Akka.Persistence.TestKit, plus <see cref="FaultyJournal"/> for deletes):
/// deletes that stay deleted, failures answered instead of swallowed, readers that see only
/// durable items, and a recovery that refuses a hole.
/// </summary>
/// <remarks>
/// With <c>serialize-messages = off</c>, as only one other spec has it (the fence's spec of a
/// journal that never confirms a holder, on the same injected journal): the TestKit's fault behaviours are objects handed to the journal (interceptors that
/// hold a write until the spec opens them) and must arrive as themselves, not as copies.
/// Every message of ours is verified through its serializer by the other specs.
/// </remarks>
public sealed partial class JournalFaultSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ListSettings Durable = Specs.Lists with
    {
        Durable = true,
        FollowWait = TimeSpan.FromMinutes(5),
    };

    private readonly ITestJournal _journal;
    private int _generation;

    public JournalFaultSpecs(ITestOutputHelper output)
        : base(Specs.System("journal-fault-specs", Akka.Configuration.ConfigurationFactory.ParseString("akka.actor.serialize-messages = off")
            .WithFallback(FaultyJournal.Config)), output)
    {
        _journal = FaultyJournal.Of(Sys);
    }

    [Fact]
    public async Task ListActor_should_answer_unavailable_when_a_journal_write_fails_and_apply_the_resend()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "flaky", "a", 0, "a0");
        await _journal.OnWrite.Fail();

        lists.Tell(Specs.Batch("flaky", "a", 1, "a1", "a2"));

        var refused = await ExpectMsgAsync<AppendRefused>();
        Assert.Equal((Refusal.Unavailable, 1ul), (refused.Reason, refused.FirstOffset));
        await _journal.OnWrite.Pass();
        lists.Tell(Specs.Batch("flaky", "a", 1, "a1", "a2"));
        var ack = await ExpectMsgAsync<BatchAppended>();
        Assert.Equal((2u, 0u, 3ul), (ack.Applied, ack.Duplicates, ack.NextOffset));
        Assert.Equal(["a0", "a1", "a2"], await this.ReadListAsync(lists, "flaky"));
    }

    [Fact]
    public async Task ListActor_should_answer_unavailable_when_the_journal_rejects_a_write_and_apply_the_resend()
    {
        var lists = Start(Durable);
        await this.AppendAsync(lists, "picky", "a", 0, "a0");
        await _journal.OnWrite.Reject();

        lists.Tell(Specs.Batch("picky", "a", 1, "a1"));

        Assert.Equal(Refusal.Unavailable, (await ExpectMsgAsync<AppendRefused>()).Reason);
        await _journal.OnWrite.Pass();
        lists.Tell(Specs.Batch("picky", "a", 1, "a1"));
        var ack = await ExpectMsgAsync<BatchAppended>();
        Assert.Equal((1u, 0u), (ack.Applied, ack.Duplicates));
        lists = await RestartAsync(lists, Durable);
        Assert.Equal(["a0", "a1"], await this.ReadListAsync(lists, "picky"));
    }

    private IActorRef Start(ListSettings settings) => Sys.ActorOf(Specs.ListsProps(settings), $"lists-{++_generation}");

    private Task<IActorRef> RestartAsync(IActorRef lists, ListSettings settings) =>
        this.RestartAsync(lists, Specs.ListsProps(settings), $"lists-{++_generation}");

    /// <summary>How many events a recovery of <paramref name="persistenceId"/> replays now.</summary>
    private async Task<int> RecoveredEventsAsync(string persistenceId) => (await RecoverAsync(persistenceId)).Events;

    private async Task<Recovery> RecoverAsync(string persistenceId)
    {
        var probe = CreateTestProbe();
        Sys.ActorOf(Props.Create(() => new RecoveryCounter(persistenceId, probe.Ref)));
        return await probe.ExpectMsgAsync<Recovery>();
    }

    /// <summary>What a recovery was given: its events.</summary>
    private sealed record Recovery(int Events);

    /// <summary>Holds journal writes (from the <paramref name="blockFrom"/>-th event on) until opened; then fails them with <paramref name="failure"/>, if given.</summary>
    private sealed class WriteGate(int blockFrom = 1, Exception? failure = null) : IJournalInterceptor
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _seen;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        public Task InterceptAsync(IPersistentRepresentation message)
        {
            if (Interlocked.Increment(ref _seen) < blockFrom)
            {
                return Task.CompletedTask;
            }

            Entered.TrySetResult();
            return failure is null ? _open.Task : _open.Task.ContinueWith(_ => throw failure, TaskScheduler.Default);
        }
    }

    /// <summary>Recovers a persistence id and reports how many events it was given.</summary>
    private sealed class RecoveryCounter : ReceivePersistentActor
    {
        public RecoveryCounter(string persistenceId, IActorRef report)
        {
            PersistenceId = persistenceId;
            var events = 0;
            Recover<RecoveryCompleted>(_ =>
            {
                report.Tell(new Recovery(events));
                Context.Stop(Self);
            });
            RecoverAny(_ => events++);
        }

        public override string PersistenceId { get; }
    }

    /// <summary>Journals whatever it is sent under a list's persistence id, answering with the sequence number.</summary>
    private sealed class RawWriter : ReceivePersistentActor
    {
        public RawWriter(string persistenceId)
        {
            PersistenceId = persistenceId;
            CommandAny(e => Persist(e, _ => Sender.Tell(LastSequenceNr)));
        }

        public override string PersistenceId { get; }
    }
}