using Akka.Actor;
using Akka.Event;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator;

/// <summary>
/// The aggregator's entry point (<c>/user/lists</c>): routes every request to the actor
/// that owns the named list, creating it on the first append. In memory, reads of a list
/// that does not exist are answered here, as an empty list, without creating anything;
/// with a journal every request starts the list's actor, which recovers what the journal
/// holds. While a list is being deleted, requests for its name wait for the deletion.
/// </summary>
public sealed class ListsActor : ReceiveActor
{
    private readonly ListSettings _settings;
    private readonly Dictionary<string, IActorRef> _lists = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _names = [];
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _waitingForDeletion = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _deleting = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _incarnation;

    public ListsActor(ListSettings settings)
    {
        _settings = settings;
        Receive<AppendBatch>(m => Route(m.List, m, create: true, () => m));
        Receive<GetResumePosition>(m => Route(m.List, m, create: _settings.Durable, () => new ResumePosition
        {
            List = m.List,
            Producer = m.Producer,
        }));
        Receive<GetLength>(m => Route(m.List, m, create: _settings.Durable, () => new Length { List = m.List }));
        Receive<GetRange>(m => Route(m.List, m, create: m.Wait || _settings.Durable, () => new ItemRange { List = m.List, From = m.From }));
        Receive<DeleteList>(m => Route(m.List, m, create: _settings.Durable, () => new ListDeleted { List = m.List }));
        Receive<Terminated>(Forget);
    }

    public static Props Props(ListSettings settings) => Akka.Actor.Props.Create(() => new ListsActor(settings));

    /// <summary>
    /// A list actor that throws keeps its state and goes on: every handler validates before
    /// it changes anything, and restarting would empty an in-memory list.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(Decider.From(Directive.Resume));

    /// <summary>
    /// Forwards <paramref name="message"/> to the list's actor. When the list does not
    /// exist and <paramref name="create"/> is false, answers with <paramref name="empty"/>:
    /// the answer of an empty list.
    /// </summary>
    private void Route(string name, object message, bool create, Func<object> empty) =>
        Route(name, message, create, empty, Sender);

    private void Route(string name, object message, bool create, Func<object> empty, IActorRef sender)
    {
        if (Names.Check(name, "list name") is { } badName)
        {
            Refuse(message, Refusal.InvalidName, badName, sender);
            return;
        }

        if (_waitingForDeletion.TryGetValue(name, out var waiting))
        {
            waiting.Add((message, sender));
            return;
        }

        if (_lists.TryGetValue(name, out var list))
        {
            list.Tell(message, sender);
            if (message is DeleteList)
            {
                // Until this incarnation has stopped, its journal is being cleared: hold the
                // name's requests, then give them to the next incarnation in order.
                _lists.Remove(name);
                _waitingForDeletion[name] = [];
                _deleting[list] = name;
            }

            return;
        }

        if (!create)
        {
            sender.Tell(empty());
            return;
        }

        if (_lists.Count >= _settings.MaxLists)
        {
            Refuse(message, Refusal.TooManyLists,
                $"the aggregator already holds {_lists.Count} lists; the limit is {_settings.MaxLists} (max-lists)", sender);
            return;
        }

        // Each incarnation of a name gets its own actor name: a deleted list may still be stopping.
        list = Context.ActorOf(ListActor.Props(name, _settings), $"{name}~{++_incarnation}");
        Context.Watch(list);
        _lists[name] = list;
        _names[list] = name;
        list.Tell(message, sender);
        if (message is DeleteList)
        {
            _lists.Remove(name);
            _waitingForDeletion[name] = [];
            _deleting[list] = name;
        }
    }

    private void Refuse(object request, Refusal reason, string text, IActorRef sender)
    {
        _log.Warning("Refused a request from {0}: {1}", sender.Path.Address, text);
        sender.Tell(request switch
        {
            AppendBatch m => new AppendRefused
            {
                List = m.List,
                Producer = m.Producer,
                FirstOffset = m.FirstOffset,
                Reason = reason,
                Message = text,
            },
            _ => new RequestRefused { List = ListOf(request), Reason = reason, Message = text },
        });
    }

    private static string ListOf(object request) => request switch
    {
        GetResumePosition m => m.List,
        GetLength m => m.List,
        GetRange m => m.List,
        DeleteList m => m.List,
        _ => string.Empty,
    };

    private void Forget(Terminated terminated)
    {
        if (_names.Remove(terminated.ActorRef, out var name)
            && _lists.TryGetValue(name, out var current) && current.Equals(terminated.ActorRef))
        {
            _lists.Remove(name);
        }

        if (_deleting.Remove(terminated.ActorRef, out var deleted) && _waitingForDeletion.Remove(deleted, out var waiting))
        {
            foreach (var (message, sender) in waiting)
            {
                Self.Tell(message, sender);
            }
        }
    }
}
