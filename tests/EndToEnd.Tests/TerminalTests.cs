using static EndToEnd.Tests.Terminal;

namespace EndToEnd.Tests;

/// <summary>
/// The worker on a real terminal (a pseudo-terminal made by util-linux script): the progress
/// line and its clearing, the summary, and Ctrl+C, where a user sees them. Off a terminal the
/// worker prints no progress at all, so no other test covers this path.
/// </summary>
public sealed class TerminalTests : IDisposable
{
    private static readonly TimeSpan AfterCtrlC = TimeSpan.FromSeconds(10);
    private readonly ItemFiles _files = new();

    [Fact]
    public async Task Append_on_a_terminal_should_clear_its_progress_line_print_the_summary_and_exit_0()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        await using var terminal = StartWorker("append", "--aggregator", aggregator.Endpoint, "--id", "X", "one", "two", "three");

        var run = await terminal.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}; the terminal showed:\n{Printable(run.Stdout)}");
        AssertSummaryOnAClearedLine(run.Stdout,
            "appended 3 items to list 'default' as producer 'X': 3 new, 0 duplicates skipped, 0 already stored (resumed), ");
        Assert.Equal(["one", "two", "three"], (await aggregator.WorkerAsync("get")).Lines);
        aggregator.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Append_of_two_million_items_on_a_terminal_should_show_progress_clear_it_and_store_them_all()
    {
        const int total = 2_000_000;
        await using var aggregator = await ServedAggregator.StartAsync();
        var file = _files.Write("terminal.txt", "term", total);
        await using var terminal = StartWorker("append", "--aggregator", aggregator.Endpoint, "--id", "big", "--file", file);

        var run = await terminal.WaitForExitAsync(TimeSpan.FromSeconds(180));

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}; the terminal showed:\n{Printable(run.Stdout)}");
        AssertSummaryOnAClearedLine(run.Stdout,
            $"appended {total} items to list 'default' as producer 'big': {total} new, 0 duplicates skipped, 0 already stored (resumed), ");
        // Reading, sending and acknowledging two million items takes several of the progress
        // line's 250 ms ticks: it was shown before it was cleared.
        Assert.Matches(@"\r\u001b\[K[\d,]+ items acknowledged, [\d,]+ items/s", run.Stdout);
        Assert.Equal(["2000000"], (await aggregator.WorkerAsync("count")).Lines);
        aggregator.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Ctrl_C_on_append_waiting_for_an_absent_aggregator_should_exit_130_at_once_saying_it_was_interrupted()
    {
        var port = Executables.FreePort();
        await using var terminal = StartWorker("append", "--aggregator", $"127.0.0.1:{port}", "--connect-timeout", "60", "--id", "int", "a", "b");
        await terminal.WaitForStdoutAsync(o => o.Contains("does not answer yet", StringComparison.Ordinal)
            || o.Contains("(waiting for the aggregator)", StringComparison.Ordinal), "sign that the worker waits for the aggregator", TimeSpan.FromSeconds(30));

        Assert.False(terminal.HasExited, $"the worker ended before Ctrl+C:\n{Printable(terminal.Stdout)}");
        var typed = terminal.Stdout.Length;
        await terminal.WriteStdinAsync(CtrlC);
        var run = await terminal.WaitForExitAsync(AfterCtrlC);

        Assert.True(run.ExitCode == 130, $"exit {run.ExitCode}; the terminal showed:\n{Printable(run.Stdout)}");
        var interrupted = run.Stdout.IndexOf("Worker: interrupted: 0 items of producer 'int' are acknowledged in list 'default'", StringComparison.Ordinal);
        Assert.True(interrupted >= typed, $"no 'interrupted' message after Ctrl+C; the terminal showed:\n{Printable(run.Stdout)}");
        Assert.DoesNotContain("did not answer within", run.Stdout); // not the 60 s connect time-out
    }

    [Fact]
    public async Task Ctrl_C_on_follow_should_exit_0_after_showing_the_items_appended_meanwhile()
    {
        await using var aggregator = await ServedAggregator.StartAsync();
        await using var terminal = StartWorker("follow", "--aggregator", aggregator.Endpoint, "--list", "L");
        await terminal.WaitForStdoutAsync(o => o.Contains("following list 'L'", StringComparison.Ordinal), "'following list' line", TimeSpan.FromSeconds(30));

        await aggregator.WorkerAsync("append", "--list", "L", "--id", "feed", "tty-1", "", "tty-3");
        await terminal.WaitForStdoutAsync(o => o.Contains("\r\ntty-1\r\n\r\ntty-3\r\n", StringComparison.Ordinal), "the appended items, one a line",
            TimeSpan.FromSeconds(30));

        Assert.False(terminal.HasExited, $"follow ended before Ctrl+C:\n{Printable(terminal.Stdout)}");
        await terminal.WriteStdinAsync(CtrlC);
        var run = await terminal.WaitForExitAsync(AfterCtrlC);

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}; the terminal showed:\n{Printable(run.Stdout)}");
        Assert.DoesNotContain("failed", run.Stdout, StringComparison.OrdinalIgnoreCase);
        aggregator.AssertNoErrorsOrWarnings();
    }

    public void Dispose() => _files.Dispose();

    /// <summary>
    /// The summary is on the terminal, right after the last clear of its line (so no progress
    /// text is left in front of it), nothing redraws progress after it, and nothing failed.
    /// </summary>
    private static void AssertSummaryOnAClearedLine(string output, string summary)
    {
        var at = output.IndexOf(summary, StringComparison.Ordinal);
        Assert.True(at >= 0, $"no summary '{summary}'; the terminal showed:\n{Printable(output)}");
        var line = output[(output.LastIndexOf('\n', at) + 1)..at];
        var clear = line.LastIndexOf(ClearLine, StringComparison.Ordinal);
        Assert.True(clear >= 0, $"the progress line was not cleared before the summary; its line: {Printable(line)}");
        Assert.True(clear + ClearLine.Length == line.Length,
            $"progress text between the last clear and the summary: {Printable(line[(clear + ClearLine.Length)..])}");
        var after = output[(at + summary.Length)..];
        Assert.DoesNotContain(ClearLine, after);
        Assert.DoesNotContain("items acknowledged", after);
        Assert.DoesNotContain("failed", output, StringComparison.OrdinalIgnoreCase);
    }
}
