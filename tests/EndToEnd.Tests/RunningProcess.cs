using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;

namespace EndToEnd.Tests;

/// <summary>A started process whose stdout lines can be awaited and whose tree is killed on dispose.</summary>
internal sealed partial class RunningProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<string> _stderrLines = Channel.CreateUnbounded<string>();
    private readonly Channel<bool> _stdoutChanged = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _disposed;

    private RunningProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process wrote on stdout so far (each line ended by '\n', or as it came with rawStdout).</summary>
    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static RunningProcess Start(string dll, string[] args, bool redirectStdin = false) =>
        StartProgram("dotnet", [dll, .. args], redirectStdin);

    /// <summary>Starts <paramref name="program"/> (found on PATH) with extra environment variables.</summary>
    /// <param name="rawStdout">
    /// keep stdout as it comes, carriage returns and escape codes included (a terminal's
    /// output), instead of splitting it into lines: <see cref="ReadLineAsync"/> then has
    /// nothing to read; wait with <see cref="WaitForStdoutAsync"/>.
    /// </param>
    public static RunningProcess StartProgram(string program, string[] args, bool redirectStdin = false,
        IReadOnlyDictionary<string, string>? environment = null, bool rawStdout = false)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            StandardInputEncoding = redirectStdin ? new UTF8Encoding(false) : null,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var running = new RunningProcess(process);
        process.OutputDataReceived += (_, e) => running.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) => running.OnStderr(e.Data);
        process.Start();
        if (rawStdout)
        {
            _ = running.ReadRawStdoutAsync();
        }
        else
        {
            process.BeginOutputReadLine();
        }

        process.BeginErrorReadLine();
        return running;
    }

    /// <summary>The next stdout line, or a failure naming what the process said, within <paramref name="timeout"/>.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(cancel.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            throw new TimeoutException($"no stdout line within {timeout.TotalSeconds} s (exited: {_process.HasExited}); stderr:\n{Stderr}");
        }
    }

    /// <summary>Waits for a stderr line containing <paramref name="text"/>.</summary>
    public async Task WaitForStderrAsync(string text, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            while (!(await _stderrLines.Reader.ReadAsync(cancel.Token)).Contains(text, StringComparison.Ordinal))
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            throw new TimeoutException($"no stderr line with '{text}' within {timeout.TotalSeconds} s; stderr:\n{Stderr}");
        }
    }

    /// <summary>
    /// Waits until stdout so far satisfies <paramref name="condition"/> and returns it, or
    /// fails naming <paramref name="what"/> was awaited and showing the output.
    /// </summary>
    public async Task<string> WaitForStdoutAsync(Func<string, bool> condition, string what, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var stdout = Stdout;
                if (condition(stdout))
                {
                    return stdout;
                }

                await _stdoutChanged.Reader.ReadAsync(cancel.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            var stdout = Stdout;
            if (condition(stdout))
            {
                return stdout;
            }

            throw new TimeoutException(
                $"no {what} on stdout within {timeout.TotalSeconds} s (exited: {_process.HasExited}); stdout:\n{stdout}\nstderr:\n{Stderr}");
        }
    }

    /// <summary>How long a write to stdin may take unless told: a process that stops reading fails the test, not hangs it.</summary>
    public static readonly TimeSpan StdinTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Writes <paramref name="text"/> to stdin and closes it, within <paramref name="timeout"/> (<see cref="StdinTimeout"/>).</summary>
    public async Task WriteStdinAndCloseAsync(string text, TimeSpan? timeout = null)
    {
        await WriteStdinAsync(text, timeout);
        _process.StandardInput.Close();
    }

    /// <summary>Writes <paramref name="text"/> to stdin at once and keeps it open, within <paramref name="timeout"/> (<see cref="StdinTimeout"/>).</summary>
    public async Task WriteStdinAsync(string text, TimeSpan? timeout = null)
    {
        var limit = timeout ?? StdinTimeout;
        try
        {
            await WriteAndFlushAsync(text).WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(
                $"the process did not read its stdin within {limit.TotalSeconds} s (exited: {_process.HasExited}); stderr:\n{Stderr}");
        }
    }

    private async Task WriteAndFlushAsync(string text)
    {
        await _process.StandardInput.WriteAsync(text);
        await _process.StandardInput.FlushAsync();
    }

    public async Task<Completed> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"process did not exit within {timeout.TotalSeconds} s; stderr:\n{Stderr}");
        }

        return new Completed(_process.ExitCode, Stdout, Stderr, _clock.Elapsed);
    }

    /// <summary>Sends a POSIX signal (SIGINT = 2, SIGTERM = 15) to the process.</summary>
    public void Signal(int signal)
    {
        if (Native.Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>SIGKILL, the whole tree: no chance to clean up.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    /// <summary>Kills the process tree and waits (bounded) for the end; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        _process.Dispose();
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            _lines.Writer.TryComplete();
            _stdoutChanged.Writer.TryComplete();
            _stdoutClosed.TrySetResult();
            return;
        }

        lock (_stdout)
        {
            _stdout.Append(line).Append('\n');
        }

        _lines.Writer.TryWrite(line);
        _stdoutChanged.Writer.TryWrite(true);
    }

    /// <summary>Stdout as it comes (a terminal's output): no line splitting, '\r' kept.</summary>
    private async Task ReadRawStdoutAsync()
    {
        var buffer = new char[4096];
        try
        {
            int read;
            while ((read = await _process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (_stdout)
                {
                    _stdout.Append(buffer, 0, read);
                }

                _stdoutChanged.Writer.TryWrite(true);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // the process is gone and its pipe with it
        }
        finally
        {
            _lines.Writer.TryComplete();
            _stdoutChanged.Writer.TryComplete();
            _stdoutClosed.TrySetResult();
        }
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            _stderrLines.Writer.TryComplete();
            _stderrClosed.TrySetResult();
            return;
        }

        lock (_stderr)
        {
            _stderr.Append(line).Append('\n');
        }

        _stderrLines.Writer.TryWrite(line);
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static partial int Kill(int pid, int signal);
    }
}
