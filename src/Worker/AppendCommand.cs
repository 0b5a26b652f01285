using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Google.Protobuf;
using Protocol;
using Protocol.Messages;

namespace Worker;

/// <summary>
/// <c>worker append</c>: reads the input, offers it batch by batch to the
/// <see cref="ProducerActor"/>, shows progress on a terminal and prints a summary once
/// every item is acknowledged.
/// </summary>
public static class AppendCommand
{
    public static async Task<int> RunAsync(CommandLine line, WorkerSettings settings, ActorSystem system, TextWriter stdout,
        CancellationToken interrupt = default)
    {
        var producerId = line.ProducerId ?? NewProducerId();
        using var input = OpenInput(line, settings);
        CheckWholeInput(input);
        var connectTimeout = line.ConnectTimeoutSeconds is { } s ? TimeSpan.FromSeconds(s) : settings.ConnectTimeout;
        var askTimeout = settings.LocalAskTimeout(connectTimeout);
        var locator = new AggregatorLocator(system, line.Aggregators, settings.MinBackoff, settings.MaxBackoff);
        var producer = system.ActorOf(ProducerActor.Props(line.List, producerId, settings, locator, connectTimeout), "producer");
        var clock = Stopwatch.StartNew();
        using var progress = Console.IsErrorRedirected || line.Json ? null : new ProgressDisplay(producer);
        try
        {
            var reply = await producer.Ask<object>(new ProducerActor.Start(), askTimeout, interrupt);
            if (reply is not ProducerActor.Started started)
            {
                return Failed(reply, line, producerId, progress);
            }

            var firstSend = DateTimeOffset.UtcNow;
            ulong skipped = 0;
            InputException? badInput = null;
            var offset = started.ResumeOffset;
            try
            {
                skipped = input.Skip(started.ResumeOffset);
                if (skipped < started.ResumeOffset)
                {
                    progress?.Dispose();
                    await Console.Error.WriteLineAsync(
                        $"Worker: warning: the aggregator already holds {started.ResumeOffset} items from producer '{producerId}', more than this input's {skipped}: nothing to send (was the input changed?)");
                }

                while (input.ReadBatch(settings.BatchMaxItems, settings.BatchMaxBytes) is { } next)
                {
                    var (packed, length, count) = next;
                    var batch = new AppendBatch
                    {
                        List = line.List,
                        Producer = producerId,
                        FirstOffset = offset,
                        Count = (uint)count,
                        Items = UnsafeByteOperations.UnsafeWrap(packed.AsMemory(0, length)),
                    };
                    offset += (ulong)count;
                    reply = await producer.Ask<object>(new ProducerActor.Offer(batch), askTimeout, interrupt);
                    if (reply is not ProducerActor.OfferAccepted)
                    {
                        return Failed(reply, line, producerId, progress);
                    }
                }
            }
            catch (InputException e)
            {
                badInput = e;
            }

            reply = await producer.Ask<object>(new ProducerActor.Finish(), askTimeout, interrupt);
            progress?.Dispose();
            if (reply is not ProducerActor.Finished finished)
            {
                return Failed(reply, line, producerId, progress);
            }

            if (badInput is not null)
            {
                await Console.Error.WriteLineAsync(
                    $"Worker: bad input: {badInput.Message}; the {finished.NextOffset} items before it are acknowledged (fix the input and re-run with --id {producerId} to resume)");
                return ExitCodes.Usage;
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var items = (ulong)input.ItemsRead;
            var summary = new AppendSummary(line.List, producerId, items, finished.Applied + finished.ConfirmedByPosition,
                finished.Duplicates, skipped, Math.Round(seconds, 3), Math.Round(seconds > 0 ? items / seconds : 0),
                UnixSeconds(firstSend), UnixSeconds(DateTimeOffset.UtcNow), Math.Round(finished.LongestWait.TotalSeconds, 3));
            await stdout.WriteLineAsync(line.Json ? OutputJson.Serialize(summary) : Text(summary));
            return ExitCodes.Success;
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            progress?.Dispose();
            var acknowledged = await AcknowledgedAsync(producer);
            await Console.Error.WriteLineAsync(
                $"Worker: interrupted: {acknowledged} items of producer '{producerId}' are acknowledged in list '{line.List}'; re-run with --id {producerId} and the same input to resume");
            return ExitCodes.Interrupted;
        }
        catch (AskTimeoutException)
        {
            progress?.Dispose();
            await Console.Error.WriteLineAsync(
                $"Worker: append to list '{line.List}' as producer '{producerId}' failed: the producer answered nothing within {askTimeout.TotalSeconds:0} s");
            return ExitCodes.Failure;
        }
    }

    /// <summary>The acknowledged offset, best effort (for the message of an interrupted run).</summary>
    private static async Task<string> AcknowledgedAsync(IActorRef producer)
    {
        try
        {
            var progress = await producer.Ask<ProducerActor.Progress>(ProducerActor.GetProgress.Instance, TimeSpan.FromSeconds(1));
            return progress.Acknowledged.ToString(CultureInfo.InvariantCulture);
        }
        catch (AskTimeoutException)
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

    private static InputReader OpenInput(CommandLine line, WorkerSettings settings) => line.File switch
    {
        null => InputReader.FromArguments(line.Items, settings.MaxItemBytes),
        "-" => InputReader.FromStream(Console.OpenStandardInput(), settings.MaxItemBytes),
        var path => InputReader.FromFile(path, settings.MaxItemBytes),
    };

    /// <summary>Clears the progress line, then says why the run failed; returns its exit code.</summary>
    private static int Failed(object reply, CommandLine line, string producerId, IDisposable? progress)
    {
        progress?.Dispose();
        var (code, message) = reply is ProducerActor.AppendFailed failed
            ? (failed.ExitCode, failed.Message)
            : (ExitCodes.Failure, $"unexpected reply {reply.GetType().Name}");
        Console.Error.WriteLine($"Worker: append to list '{line.List}' as producer '{producerId}' failed: {message}");
        return code;
    }

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

        public ProgressDisplay(IActorRef producer) => _loop = RunAsync(producer, _stop.Token);

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

        private static async Task RunAsync(IActorRef producer, CancellationToken stop)
        {
            var clock = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(250, stop);
                    var p = await producer.Ask<ProducerActor.Progress>(ProducerActor.GetProgress.Instance, TimeSpan.FromSeconds(1), stop);
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
                catch (AskTimeoutException)
                {
                    // the actor is busy: the next tick will tell.
                }
            }
        }
    }
}
