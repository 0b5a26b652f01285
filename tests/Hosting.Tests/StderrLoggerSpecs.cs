using Akka.Actor;
using Akka.Configuration;
using Akka.Event;

namespace Hosting.Tests;

/// <summary>
/// The one-line stderr logger: a peer that went away without a goodbye is an INFO line,
/// which a system logging from WARNING up (the worker) leaves out. Console.Error is
/// swapped for the run of each spec; the two specs never run at once (one collection).
/// </summary>
[Collection(nameof(StderrLoggerSpecs))]
public sealed class StderrLoggerSpecs
{
    [Fact]
    public async Task StderrLogger_should_leave_out_a_peer_going_away_when_it_logs_from_WARNING_up()
    {
        var output = await LogAsync("WARNING");

        Assert.DoesNotContain("marker-went-away", output);
        Assert.Contains("[WARNING]", output);
    }

    [Fact]
    public async Task StderrLogger_should_write_a_peer_going_away_at_INFO_when_it_logs_INFO()
    {
        var output = await LogAsync("INFO");

        var line = Assert.Single(output.Split('\n'), l => l.Contains("marker-went-away", StringComparison.Ordinal));
        Assert.StartsWith("[INFO]", line);
    }

    /// <summary>
    /// Publishes a warning caused by Akka.Remote's disassociation, then an ordinary warning;
    /// returns what the logger wrote once the second is there (the logger writes in order).
    /// </summary>
    private static async Task<string> LogAsync(string level)
    {
        var writer = new WatchingWriter("marker-ordinary");
        var before = Console.Error;
        Console.SetError(TextWriter.Synchronized(writer));
        try
        {
            using var system = ActorSystem.Create("logger-specs", ConfigurationFactory.ParseString($$"""
                akka.loglevel = {{level}}
                akka.stdout-loglevel = OFF
                akka.loggers = ["Hosting.StderrLogger, Hosting"]
                """));
            var disassociated = (Exception)Activator.CreateInstance(
                typeof(Akka.Remote.RemoteTransport).Assembly.GetType("Akka.Remote.EndpointDisassociatedException", throwOnError: true)!,
                "Disassociated")!;
            system.EventStream.Publish(new Warning(disassociated, "specs", typeof(StderrLoggerSpecs), "marker-went-away"));
            system.EventStream.Publish(new Warning("specs", typeof(StderrLoggerSpecs), "marker-ordinary"));

            var seen = await Task.WhenAny(writer.Seen.Task, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.True(seen == writer.Seen.Task, $"the logger wrote no ordinary warning within 10 s:\n{writer}");

            await system.Terminate();
            return writer.ToString();
        }
        finally
        {
            Console.SetError(before);
        }
    }

    /// <summary>A StringWriter that completes <see cref="Seen"/> once a line holding the text is written.</summary>
    private sealed class WatchingWriter(string text) : StringWriter
    {
        public TaskCompletionSource Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(text, StringComparison.Ordinal) == true)
            {
                Seen.TrySetResult();
            }
        }
    }
}
