namespace EndToEnd.Tests;

/// <summary>
/// The built Worker run under a real pseudo-terminal, as a user at a terminal runs it: util-linux
/// <c>script -qfec COMMAND /dev/null</c> gives it a terminal for stdin, stdout and stderr. What the
/// test writes to script's stdin is typed into the terminal ("\u0003" is Ctrl+C, turned into
/// SIGINT by the terminal); script's stdout is the terminal's output, escape codes and '\r'
/// included (the worker's stdout and stderr, both on the terminal, in the order written; '\n'
/// shows as "\r\n"); script exits with the worker's exit code. Killed, tree and all, on dispose.
/// </summary>
internal static class Terminal
{
    /// <summary>What a terminal shows of Ctrl+C typed at it (echoed by the terminal).</summary>
    public const string CtrlC = "\u0003";

    /// <summary>The progress line's "carriage return, erase to the end of the line".</summary>
    public const string ClearLine = "\r\u001b[K";

    /// <summary>Starts <c>Worker ARGS</c> on a new pseudo-terminal; fails (never skips) without util-linux script.</summary>
    public static RunningProcess StartWorker(params string[] args)
    {
        // A user's terminal delivers Ctrl+C to a program that has SIGINT at its default. A test
        // run started in the background or under nohup has it ignored, and every process below
        // inherits that (the worker would then never see Ctrl+C): env puts it back.
        var command = "exec " + string.Join(' ', new[] { "env", "--default-signal=INT", "dotnet", Executables.Worker }.Concat(args).Select(Quote));
        return RunningProcess.StartProgram(Script, ["-qfec", command, "/dev/null"], redirectStdin: true,
            environment: new Dictionary<string, string> { ["TERM"] = "xterm" }, rawStdout: true);
    }

    /// <summary>The terminal's output with its control characters spelled out, for failure messages.</summary>
    public static string Printable(string output) =>
        output.Replace("\u001b", "\\e", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal)
            .Replace(CtrlC, "\\x03", StringComparison.Ordinal);

    /// <summary>util-linux script(1), found on PATH.</summary>
    private static string Script
    {
        get
        {
            var found = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(directory => Path.Combine(directory, "script"))
                .FirstOrDefault(File.Exists);
            Assert.True(found is not null,
                "util-linux 'script' is not on PATH: the terminal tests run the worker on a pseudo-terminal with it (install util-linux, e.g. apt-get install util-linux)");
            return found;
        }
    }

    /// <summary>One word for sh: single-quoted, a single quote spelled '"'"'.</summary>
    private static string Quote(string word) => "'" + word.Replace("'", "'\"'\"'", StringComparison.Ordinal) + "'";
}
