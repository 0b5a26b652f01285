using Akka.Actor;
using Akka.Persistence;

namespace Aggregator;

/// <summary>
/// Recovers a persistence id that is never written, once, at start-up. The first recovery
/// through the SQL plugins pays about a second of one-time costs (connections, query
/// compilation, JIT); paid here, while workers are still connecting, it is not added to the
/// recovery of the first list a worker asks for.
/// </summary>
public sealed class JournalWarmUp : ReceivePersistentActor
{
    public JournalWarmUp()
    {
        Recover<RecoveryCompleted>(_ => Context.Stop(Self));
        CommandAny(_ => { });
    }

    public override string PersistenceId => "aggregator-journal-warm-up";

    public static Props Props() => Akka.Actor.Props.Create<JournalWarmUp>();
}
