using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hosting;

/// <summary>
/// The one-line log for a process without a host (the Worker, the aggregator's cluster front):
/// the lines of <see cref="OneLineFormatter"/>, written to a <see cref="TextWriter"/> by a
/// thread of its own, as the console logger does, without the console logger's dependency
/// injection and options (about 40 ms of a worker's start-up, most of it compiling their generic
/// code). Callers never wait for the writer, unless a thousand lines are already queued.
/// </summary>
public sealed class OneLineLoggerFactory : ILoggerFactory
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);
    private readonly OneLineFormatter _formatter;
    private readonly LogLevel _minimum;
    private readonly BlockingCollection<string> _lines = new(boundedCapacity: 1024);
    private readonly Thread _writer;

    public OneLineLoggerFactory(TextWriter output, OneLineFormatterOptions options)
    {
        _formatter = new OneLineFormatter(options);
        _minimum = options.Minimum;
        _writer = new Thread(() => Write(output)) { IsBackground = true, Name = "one-line log" };
        _writer.Start();
    }

    /// <summary>Whether the writer has ended (after <see cref="Dispose"/>).</summary>
    public bool Ended => !_writer.IsAlive;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Only the one-line log is written here.</summary>
    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException($"{nameof(OneLineLoggerFactory)} writes the one-line log only");

    /// <summary>Writes out what is queued (for up to 2 s), then ends the writer.</summary>
    public void Dispose()
    {
        if (!_lines.IsAddingCompleted)
        {
            _lines.CompleteAdding();
            _writer.Join(DrainTimeout);
        }
    }

    private void Enqueue(string line)
    {
        try
        {
            _lines.Add(line);
        }
        catch (InvalidOperationException)
        {
            // Disposed: the process is ending, and what comes after the log's end is dropped.
        }
    }

    private void Write(TextWriter output)
    {
        var writable = true;
        foreach (var line in _lines.GetConsumingEnumerable())
        {
            if (!writable)
            {
                continue; // the output is gone: lines are dropped, and loggers never wait for it
            }

            try
            {
                output.Write(line);
                output.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                writable = false;
            }
        }
    }

    private sealed class Logger(OneLineLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= factory._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            if (factory._formatter.LineOf(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter)) is { } line)
            {
                factory.Enqueue(line);
            }
        }
    }
}
