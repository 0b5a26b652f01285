using Akka.Actor;

namespace Aggregator.Service;

/// <summary>
/// The /user guardian's strategy (akka.actor.guardian-supervisor-strategy): the lists actor
/// resumes after a failure, a remote Kill included, so the lists it holds live on. An actor
/// that cannot even start is stopped.
/// </summary>
public sealed class ResumingGuardianStrategy : SupervisorStrategyConfigurator
{
    public override SupervisorStrategy Create() =>
        new OneForOneStrategy(e => e is ActorInitializationException ? Directive.Stop : Directive.Resume);
}
