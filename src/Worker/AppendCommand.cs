using System.Diagnostics;
using System.Globalization;

namespace Worker;

/// <summary>
/// <c>worker append</c>: reads the input and adds it item by item to a <see cref="ListProducer"/>
/// of the client library, shows progress on a terminal, and prints a summary once every item
/// is acknowledged.
/// </summary>
public static class AppendCommand
{
    public static async Task<int> RunAsync(CommandLine line, AggregatorList list, AggregatorClientOptions options, TextWriter stdout,
        CancellationToken interrupt = default)
    {
        var producerId = line.ProducerId ?? NewProducerId();
        using var input = OpenInput(line, options.MaxItemBytes);
        CheckWholeInput(input);
        await using var producer = list.CreateProducer(producerId);
        var clock = Stopwatch.StartNew();
        using var progress = Console.IsErrorRedirected || line.Json ? null : new ProgressDisplay(producer);
        try
        {
            await producer.StartAsync(interrupt);
            var firstSend = options.TimeProvider.GetUtcNow();
            InputException? badInput = null;
            try
            {
                while (input.TryRead(out var item))
                {
                    await producer.AddAsync(item, interrupt);
                }
            }
            catch (InputException e)
            {
                badInput = e;
            }

            var result = await producer.FlushAsync(interrupt);
            progress?.Dispose();
            var items = (ulong)input.ItemsRead;
            if (items < result.AlreadyStored)
            {
                await Console.Error.WriteLineAsync(
                    $"Worker: warning: the aggregator already holds {result.AlreadyStored} items from producer '{producerId}', more than this input's {items}: nothing to send (was the input changed?)");
            }

            if (badInput is not null)
            {
                await Console.Error.WriteLineAsync(
                    $"Worker: bad input: {badInput.Message}; the {result.Acknowledged} items before it are acknowledged (fix the input and re-run with --id {producerId} to resume)");
                return ExitCodes.Usage;
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var summary = new AppendSummary(list.Name, producerId, items, result.Appended, result.Duplicates, Math.Min(items, result.AlreadyStored),
                Math.Round(seconds, 3), Math.Round(seconds > 0 ? items / seconds : 0), UnixSeconds(firstSend), UnixSeconds(options.TimeProvider.GetUtcNow()),
                Math.Round(result.LongestAckWait.TotalSeconds, 3));
            await stdout.WriteLineAsync(line.Json ? OutputJson.Serialize(summary) : Text(summary));
            return ExitCodes.Success;
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            progress?.Dispose();
            var acknowledged = await AcknowledgedAsync(producer);
            await Console.Error.WriteLineAsync(
                $"Worker: interrupted: {acknowledged} items of producer '{producerId}' are acknowledged in list '{list.Name}'; re-run with --id {producerId} and the same input to resume");
            return ExitCodes.Interrupted;
        }
        catch (AggregatorException e)
        {
            progress?.Dispose();
            var (exit, message) = Failures.Of(e)!.Value;
            await Console.Error.WriteLineAsync($"Worker: append to list '{list.Name}' as producer '{producerId}' failed: {message}");
            return exit;
        }
    }

    /// <summary>The acknowledged offset, best effort (for the message of an interrupted run).</summary>
    private static async Task<string> AcknowledgedAsync(ListProducer producer)
    {
        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            var progress = await producer.ProgressAsync(bound.Token);
            return progress.Acknowledged.ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is OperationCanceledException or Akka.Actor.AskTimeoutException)
        {
            return "an unknown number of";
        }
    }

    /// <summary>
    /// A regular file or the arguments are read through once before anything is sent, so that
    /// an item over the size limit or not in UTF-8 refuses the whole run instead of half of it.
    /// Stdin and pipes cannot be read twice: there, the items before a bad one are appended
    /// and reported.
    /// </summary>
    /// <exception cref="InputException">an item is too large or not UTF-8.</exception>
    private static void CheckWholeInput(InputReader input)
    {
        try
        {
            input.CheckAllAndRewind();
        }
        catch (InputException e)
        {
            throw new InputException($"{e.Message}; nothing was sent", e.ItemNumber);
        }
    }

    private static InputReader OpenInput(CommandLine line, int maxItemBytes) => line.File switch
    {
        null => InputReader.FromArguments(line.Items, maxItemBytes),
        "-" => InputReader.FromStream(Console.OpenStandardInput(), maxItemBytes),
        var path => InputReader.FromFile(path, maxItemBytes),
    };

    /// <summary>
    /// The end of a run, for people. Every item read is counted once: new (appended by this
    /// run: acknowledged as applied, or found stored when the list named its position after
    /// a reconnection), a duplicate (the list acknowledged it as one it had already: a resend
    /// of a batch stored before its answer was lost), or already stored (skipped at the
    /// start, because the list said this producer was past it: a resumed run).
    /// </summary>
    private static string Text(AppendSummary s) => string.Create(CultureInfo.InvariantCulture,
        $"appended {s.Items} items to list '{s.List}' as producer '{s.Producer}': {s.Appended} new, {s.Duplicates} duplicates skipped, {s.AlreadyStored} already stored (resumed), {s.Seconds:0.00} s, {s.ItemsPerSecond:0} items/s{(s.LongestAckWaitSeconds >= 1 ? $"; acknowledgements paused for up to {s.LongestAckWaitSeconds:0.0} s" : "")}");

    /// <summary>
    /// Wall-clock seconds since 1970, to the microsecond: the first send after the resume
    /// position came back and the last acknowledgement, so that several workers' runs can be
    /// put on one time line.
    /// </summary>
    private static double UnixSeconds(DateTimeOffset time) => Math.Round((time - DateTimeOffset.UnixEpoch).TotalSeconds, 6);

    /// <summary>A producer id for a run without --id: host, process and a random suffix.</summary>
    private static string NewProducerId()
    {
        var host = new string(Environment.MachineName.Where(char.IsAsciiLetterOrDigit).Take(40).ToArray());
        return $"{(host.Length > 0 ? host : "worker")}-{Environment.ProcessId}-{Random.Shared.Next(0x10000):x4}";
    }

    /// <summary>
    /// A progress line on the terminal (stderr), refreshed a few times a second and cleared
    /// by <see cref="Dispose"/> (which may be called more than once) before anything else is printed.
    /// </summary>
    private sealed class ProgressDisplay : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private bool _disposed;

        public ProgressDisplay(ListProducer producer) => _loop = RunAsync(producer, _stop.Token);

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stop.Cancel();
            _loop.ContinueWith(_ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(1));
            Console.Error.Write("\r\u001b[K");
            _stop.Dispose();
        }

        private static async Task RunAsync(ListProducer producer, CancellationToken stop)
        {
            var clock = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(250, stop);
                    var p = await producer.ProgressAsync(stop);
                    var rate = p.Acknowledged / Math.Max(clock.Elapsed.TotalSeconds, 0.001);
                    var state = p.Unavailable is { } why ? $" (the aggregator cannot store items: {why}; retrying)"
                        : p.Connected ? string.Empty
                        : " (waiting for the aggregator)";
                    if (!stop.IsCancellationRequested)
                    {
                        Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                            $"\r\u001b[K{p.Acknowledged:N0} items acknowledged, {rate:N0} items/s{state}"));
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Akka.Actor.AskTimeoutException)
                {
                    // the actor is busy: the next tick will tell.
                }
            }
        }
    }
}
