using Akka.Actor;
using Akka.Event;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator;

/// <summary>
/// The aggregator's entry point (<c>/user/lists</c>): routes every request to the actor
/// that owns the named list, creating it on the first append. Reads of a list that does
/// not exist are answered here, as an empty list, without creating anything.
/// </summary>
public sealed class ListsActor : ReceiveActor
{
    private readonly ListSettings _settings;
    private readonly Dictionary<string, IActorRef> _lists = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _names = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _incarnation;

    public ListsActor(ListSettings settings)
    {
        _settings = settings;
        Receive<AppendBatch>(m => Route(m.List, m, create: true, () => m));
        Receive<GetResumePosition>(m => Route(m.List, m, create: false, () => new ResumePosition
        {
            List = m.List,
            Producer = m.Producer,
        }));
        Receive<GetLength>(m => Route(m.List, m, create: false, () => new Length { List = m.List }));
        Receive<GetRange>(m => Route(m.List, m, create: m.Wait, () => new ItemRange { List = m.List, From = m.From }));
        Receive<DeleteList>(m => Route(m.List, m, create: false, () => new ListDeleted { List = m.List }));
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
    private void Route(string name, object message, bool create, Func<object> empty)
    {
        if (Names.Check(name, "list name") is { } badName)
        {
            Refuse(message, Refusal.InvalidName, badName);
            return;
        }

        if (_lists.TryGetValue(name, out var list))
        {
            list.Forward(message);
            if (message is DeleteList)
            {
                // From now on the name belongs to the next incarnation, even while this one stops.
                _lists.Remove(name);
            }

            return;
        }

        if (!create)
        {
            Sender.Tell(empty());
            return;
        }

        if (_lists.Count >= _settings.MaxLists)
        {
            Refuse(message, Refusal.TooManyLists,
                $"the aggregator already holds {_lists.Count} lists; the limit is {_settings.MaxLists} (max-lists)");
            return;
        }

        // Each incarnation of a name gets its own actor name: a deleted list may still be stopping.
        list = Context.ActorOf(ListActor.Props(name, _settings), $"{name}~{++_incarnation}");
        Context.Watch(list);
        _lists[name] = list;
        _names[list] = name;
        _log.Info("Created list {0}", name);
        list.Forward(message);
    }

    private void Refuse(object request, Refusal reason, string text)
    {
        _log.Warning("Refused a request from {0}: {1}", Sender.Path.Address, text);
        Sender.Tell(request switch
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
    }
}
