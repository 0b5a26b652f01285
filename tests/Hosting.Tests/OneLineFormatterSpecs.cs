using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MelLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Hosting.Tests;

/// <summary>
/// The one-line log's formatter, fed Akka's events as the logger bridges hand them over (the
/// <see cref="LogEvent"/> as the entry's state): the line format operators and tests read, and
/// what it leaves out.
/// </summary>
public sealed class OneLineFormatterSpecs
{
    private static readonly DateTime At = new(2026, 12, 6, 8, 30, 15, 123, DateTimeKind.Utc);

    [Fact]
    public void OneLineFormatter_should_write_level_time_source_and_message_with_causes_on_one_line()
    {
        var cause = new InvalidOperationException("outer", new IOException("disk\nunplugged"));
        var line = Write(new Error(cause, "akka://aggregator/user/lists/orders~1", typeof(OneLineFormatterSpecs), "the journal failed"));

        Assert.Equal("[ERROR][2026-12-06 08:30:15.123][akka://aggregator/user/lists/orders~1] the journal failed"
            + " <- InvalidOperationException: outer <- IOException: disk unplugged\n", line);
    }

    [Fact]
    public void OneLineFormatter_should_leave_out_a_peer_going_away_when_it_logs_from_WARNING_up()
    {
        Assert.Equal(string.Empty, Write(WentAway(), o => o.Minimum = MelLevel.Warning));
    }

    [Fact]
    public void OneLineFormatter_should_write_a_peer_going_away_at_INFO_when_it_logs_INFO()
    {
        Assert.StartsWith("[INFO][", Write(WentAway(), o => o.Minimum = MelLevel.Information));
    }

    [Fact]
    public async Task OneLineFormatter_should_leave_out_the_transports_unreachable_warnings_where_asked()
    {
        var unreachable = await LoggedAsync(log => log.Warning("Tried to associate with unreachable remote address [{0}]",
            new Address("akka.tcp", "aggregator", "127.0.0.1", 1)));

        Assert.Equal(string.Empty, Write(unreachable, o => o.HideUnreachable = true));
        Assert.Contains("unreachable remote address [akka.tcp://aggregator@127.0.0.1:1]", Write(unreachable));
    }

    [Fact]
    public void OneLineFormatter_should_drop_the_stack_traces_embedded_in_a_message_below_DEBUG()
    {
        var text = "Association failed\n   at Akka.Remote.Foo()\n--- End of stack trace ---\nwith reason";

        Assert.EndsWith("] Association failed with reason\n", Write(new Warning("remote", typeof(OneLineFormatterSpecs), text)));
        Assert.Contains("at Akka.Remote.Foo()", Write(new Warning("remote", typeof(OneLineFormatterSpecs), text), o => o.Traces = true));
    }

    [Fact]
    public void OneLineFormatter_should_read_Akka_Hostings_structured_state_as_one_of_Akkas_events()
    {
        // What Akka.Hosting's bridge hands over: the message's arguments, then Akka's metadata.
        List<KeyValuePair<string, object?>> state =
        [
            new("0", new Address("akka.tcp", "worker", "127.0.0.1", 2)),
            new("ActorPath", "akka://aggregator/system/endpointManager"),
            new("Timestamp", new DateTimeOffset(At)),
            new("Thread", 7),
            new("LogSource", "remoting"),
            new("{OriginalFormat}", "Tried to associate with unreachable remote address [{0}]"),
        ];
        string Written(Action<OneLineFormatterOptions> change)
        {
            using var output = new StringWriter();
            Formatter(change).Write(new LogEntry<List<KeyValuePair<string, object?>>>(MelLevel.Warning, "Akka.Actor.ActorSystem", default, state, null,
                (_, _) => "pre-formatted"), null, output);
            return output.ToString();
        }

        Assert.Equal("[WARNING][2026-12-06 08:30:15.123][remoting] Tried to associate with unreachable remote address [akka.tcp://worker@127.0.0.1:2]\n",
            Written(_ => { }));
        Assert.Equal(string.Empty, Written(o => o.HideUnreachable = true));
    }

    [Fact]
    public void OneLineFormatter_should_write_the_hosts_own_entries_in_the_same_form()
    {
        var formatter = Formatter(_ => { });
        using var output = new StringWriter();
        formatter.Write(new LogEntry<string>(MelLevel.Warning, "Microsoft.Hosting.Lifetime", default, "shutting down", null, (s, _) => s), null, output);

        Assert.Matches(@"^\[WARNING\]\[[0-9: .-]+\]\[Microsoft\.Hosting\.Lifetime\] shutting down\n$", output.ToString());
    }

    /// <summary>A warning as Akka's own logging adapters make it (a message with its arguments), caught on an event stream.</summary>
    private static async Task<LogEvent> LoggedAsync(Action<ILoggingAdapter> log)
    {
        using var system = ActorSystem.Create("formatter-specs", "akka.loglevel = WARNING\nakka.stdout-loglevel = OFF\nakka.loggers = []");
        var caught = new TaskCompletionSource<LogEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var catcher = system.ActorOf(Props.Create(() => new Catcher(caught)));
        system.EventStream.Subscribe(catcher, typeof(Warning));
        log(Logging.GetLogger(system.EventStream, "transport"));
        var e = await caught.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await system.Terminate();
        return e;
    }

    private sealed class Catcher : ReceiveActor
    {
        public Catcher(TaskCompletionSource<LogEvent> caught) => Receive<LogEvent>(e => caught.TrySetResult(e));
    }

    private static LogEvent WentAway()
    {
        var disassociated = (Exception)Activator.CreateInstance(
            typeof(Akka.Remote.RemoteTransport).Assembly.GetType("Akka.Remote.EndpointDisassociatedException", throwOnError: true)!, "Disassociated")!;
        return new Warning(disassociated, "remote", typeof(OneLineFormatterSpecs), "went away");
    }

    private static string Write(LogEvent e, Action<OneLineFormatterOptions>? change = null)
    {
        SetTimestamp(e);
        using var output = new StringWriter();
        Formatter(change ?? (_ => { })).Write(new LogEntry<LogEvent>(MelLevel.Information, "Akka", default, e, e.Cause, (ev, _) => ev.ToString()), null, output);
        return output.ToString();
    }

    private static OneLineFormatter Formatter(Action<OneLineFormatterOptions> change)
    {
        var options = new OneLineFormatterOptions();
        change(options);
        return new OneLineFormatter(new StaticMonitor(options));
    }

    private static void SetTimestamp(LogEvent e) =>
        typeof(LogEvent).GetProperty(nameof(LogEvent.Timestamp))!.SetValue(e, At);

    private sealed class StaticMonitor(OneLineFormatterOptions value) : IOptionsMonitor<OneLineFormatterOptions>
    {
        public OneLineFormatterOptions CurrentValue => value;

        public OneLineFormatterOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<OneLineFormatterOptions, string?> listener) => null;
    }
}
