namespace Protocol.Messages;

/// <summary>
/// A request to one list: the one place routing reads a list's name from (the message extractor
/// of both modes, the entry points' name check). Every request the protocol sends to a list is
/// one, through the partial classes below; the generated <c>List</c> property implements it.
/// </summary>
public interface IListRequest
{
    /// <summary>The list's name.</summary>
    string List { get; }
}

public sealed partial class AppendBatch : IListRequest;

public sealed partial class GetResumePosition : IListRequest;

public sealed partial class GetLength : IListRequest;

public sealed partial class GetRange : IListRequest;

public sealed partial class DeleteList : IListRequest;

public sealed partial class GetListStats : IListRequest;
