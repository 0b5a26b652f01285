namespace Aggregator.Tests;

/// <summary>How many lists one stats page names: by count, and by the bytes their entries take.</summary>
public sealed class StatsPageSpecs
{
    [Fact]
    public void A_page_of_short_names_should_hold_500_and_say_more_follow()
    {
        var names = Enumerable.Range(0, 1200).Select(i => $"list-{i:D4}").ToList();

        var (page, more) = ListRouting.StatsPageOf(names, 80_000, "akka.tcp://aggregator@127.0.0.1:25520".Length);

        Assert.Equal(names.Take(500), page);
        Assert.True(more);
    }

    [Fact]
    public void A_page_of_long_names_on_a_long_address_should_stay_within_its_bytes()
    {
        // 128-character names at a node with a long DNS name (a Kubernetes pod's, say): 500
        // such entries would pass the transport's 128,000-byte frame.
        var names = Enumerable.Range(0, 600).Select(i => $"{i:D4}".PadLeft(128, 'n')).ToList();
        const int node = 160;

        var (page, more) = ListRouting.StatsPageOf(names, 80_000, node);

        Assert.True(more);
        Assert.InRange(page.Count, 200, 499);
        Assert.InRange(page.Count * (128 + node), 60_000, 80_000);
        Assert.Equal(names.Take(page.Count), page);
    }

    [Fact]
    public void The_last_page_should_say_no_more_and_a_page_hold_one_name_whatever_its_size()
    {
        Assert.Equal(("a,b", false), Flatten(ListRouting.StatsPageOf(["a", "b"], 80_000, 40)));
        Assert.Equal(("huge", true), Flatten(ListRouting.StatsPageOf(["huge", "next"], 10, 40)));
        Assert.Equal(("", false), Flatten(ListRouting.StatsPageOf([], 80_000, 40)));
    }

    private static (string Names, bool More) Flatten((List<string> Page, bool More) page) => (string.Join(',', page.Page), page.More);
}
