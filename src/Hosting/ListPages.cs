using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Hosting;

/// <summary>
/// Reading a list page by page (the pages the aggregator cuts to fit the transport's frame),
/// for every reader of a whole list or a range of it: <c>Worker get</c> and the demo.
/// </summary>
public static class ListPages
{
    /// <summary>
    /// The pages of <paramref name="list"/> from item <paramref name="from"/>, at most
    /// <paramref name="count"/> items in all, each fetched by <paramref name="request"/>, until
    /// the list's end as the last page saw it.
    /// </summary>
    public static async IAsyncEnumerable<ItemRange> ReadAsync(string list, ulong from, ulong count, Func<GetRange, Task<ItemRange>> request)
    {
        while (count > 0)
        {
            var page = await request(new GetRange { List = list, From = from, MaxCount = (uint)Math.Min(count, uint.MaxValue) });
            if (page.Count == 0)
            {
                yield break;
            }

            yield return page;
            from += page.Count;
            count -= page.Count;
            if (from >= page.Length)
            {
                yield break;
            }
        }
    }
}
