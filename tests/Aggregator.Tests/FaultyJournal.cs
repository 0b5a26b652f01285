using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.TestKit;

namespace Aggregator.Tests;

/// <summary>
/// Akka.Persistence.TestKit's journal, plus deletes: <see cref="TestJournal"/> injects
/// write, rejection and recovery faults and delays but cannot touch <c>DeleteMessagesTo</c>
/// (and is sealed). This in-memory journal answers TestJournal's own control messages, so
/// <see cref="TestJournal.FromRef"/> and its <c>OnWrite</c>/<c>OnRecovery</c> behaviours
/// work on it unchanged, and adds <see cref="SetDeleteHook"/> for deletes.
/// </summary>
public sealed class FaultyJournal : MemoryJournal
{
    private IJournalInterceptor _write = JournalInterceptors.Noop.Instance;
    private IJournalInterceptor _recovery = JournalInterceptors.Noop.Instance;
    private Func<string, long, Task> _delete = (_, _) => Task.CompletedTask;
    private bool _deleteAfter;

    /// <summary>The journal of every spec that injects faults (and no snapshot store: the lists keep none).</summary>
    public static Config Config { get; } = ConfigurationFactory.ParseString($$"""
        akka.persistence.journal.plugin = "akka.persistence.journal.faulty"
        akka.persistence.journal.faulty {
          class = "{{typeof(FaultyJournal).FullName}}, {{typeof(FaultyJournal).Assembly.GetName().Name}}"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        akka.persistence.snapshot-store.plugin = "akka.persistence.no-snapshot-store"
        """);

    /// <summary>
    /// Runs <paramref name="hook"/> before every delete of events (a throw fails the delete,
    /// nothing deleted), or after it (<paramref name="afterDelete"/>: a throw fails a delete
    /// that took place, as a connection lost at the commit does).
    /// </summary>
    public static Task SetDeleteHook(ActorSystem system, Func<string, long, Task> hook, bool afterDelete = false) =>
        Persistence.Instance.Apply(system).JournalFor(null).Ask<TestJournal.Ack>(new UseDeleteHook(hook, afterDelete), TimeSpan.FromSeconds(3));

    public static ITestJournal Of(ActorSystem system) => TestJournal.FromRef(Persistence.Instance.Apply(system).JournalFor(null));

    protected override bool ReceivePluginInternal(object message)
    {
        switch (message)
        {
            case TestJournal.UseWriteInterceptor use:
                _write = use.Interceptor;
                Sender.Tell(TestJournal.Ack.Instance);
                return true;
            case TestJournal.UseRecoveryInterceptor use:
                _recovery = use.Interceptor;
                Sender.Tell(TestJournal.Ack.Instance);
                return true;
            case UseDeleteHook use:
                (_delete, _deleteAfter) = (use.Hook, use.After);
                Sender.Tell(TestJournal.Ack.Instance);
                return true;
            default:
                return base.ReceivePluginInternal(message);
        }
    }

    protected override async Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages,
        CancellationToken cancellationToken)
    {
        var results = new List<Exception?>();
        foreach (var write in messages)
        {
            try
            {
                foreach (var representation in (IImmutableList<IPersistentRepresentation>)write.Payload)
                {
                    await _write.InterceptAsync(representation);
                    Add(representation);
                }

                results.Add(null);
            }
            catch (TestJournalRejectionException rejected)
            {
                results.Add(rejected);
            }
        }

        return results.ToImmutableList();
    }

    public override async Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr,
        long toSequenceNr, long max, Action<IPersistentRepresentation> recoveryCallback)
    {
        foreach (var representation in Read(persistenceId, fromSequenceNr, toSequenceNr, max))
        {
            await _recovery.InterceptAsync(representation);
            recoveryCallback(representation);
        }
    }

    protected override async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
    {
        if (!_deleteAfter)
        {
            await _delete(persistenceId, toSequenceNr);
        }

        await base.DeleteMessagesToAsync(persistenceId, toSequenceNr, cancellationToken);
        if (_deleteAfter)
        {
            await _delete(persistenceId, toSequenceNr);
        }
    }

    private sealed record UseDeleteHook(Func<string, long, Task> Hook, bool After) : INoSerializationVerificationNeeded;
}
