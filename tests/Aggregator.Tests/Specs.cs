using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Hosting;
using Akka.TestKit;
using Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Protocol;
using Protocol.Messages;
using ItemRange = Protocol.Messages.Range;

namespace Aggregator.Tests;

/// <summary>
/// What every actor spec runs with: real remoting, every message serialized, our
/// serializer bound through the same setup the processes use, and the list settings of the
/// shipped aggregator.hocon. Unregistered types stay allowed here, and Akka's JSON serializer
/// takes back the place of the refusing one the shipped file binds, only because
/// serialize-messages also checks Akka's own local messages (recovery permits, system
/// messages), which have no binding; the processes refuse them on the wire, and
/// Protocol.Tests and Hosting.Tests check that every wire type is bound and the shipped files refuse the rest.
/// </summary>
internal static class Specs
{
    public static Config Config { get; } = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.actor.provider = remote
        akka.actor.serialize-messages = on
        akka.actor.serialization-settings.allow-unregistered-types = true
        akka.actor.serializers.json = "Akka.Serialization.NewtonSoftJsonSerializer, Akka"
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        akka.test.timefactor = 2
        """);

    /// <summary>
    /// The settings of the shipped aggregator.hocon, in memory; journaled lists load at their
    /// first request, so that a spec's journal sees only the recoveries the spec makes
    /// (RecoverySpecs turns load-lists-at-start on where it checks it).
    /// </summary>
    public static ListSettings Lists { get; } = ListSettings.From(HoconFile.Shipped("aggregator.hocon"), durable: false) with { LoadAtStart = false };

    /// <summary>Small limits that specs reach with a few messages: 3 lists, 4 producers a list, 1000-byte items, a 300 ms follow wait.</summary>
    public static ListSettings SmallLists { get; } = Lists with
    {
        MaxLists = 3,
        MaxProducersPerList = 4,
        MaxItemBytes = 1000,
        FollowWait = TimeSpan.FromMilliseconds(300),
    };

    /// <summary><paramref name="config"/> in front of <see cref="Config"/>, with the wire serializer bound: for a system that is not an aggregator's.</summary>
    public static ActorSystemSetup Setup(Config? config = null) =>
        BootstrapSetup.Create().WithConfig((config ?? ConfigurationFactory.Empty).WithFallback(Config)).And(ProtocolSerializer.Setup);

    /// <summary>
    /// An aggregator's actor system as <c>serve</c> builds it (<see cref="AkkaWiring.Configure"/>
    /// in an Akka.Hosting host: the shipped aggregator.hocon, remoting on a free loopback port,
    /// the wire serializer, <c>/user/lists</c> over <paramref name="lists"/>, the in-memory journal),
    /// with <paramref name="config"/> and the specs' <see cref="Config"/> in front (a journal of
    /// the spec's own among them). The host goes when the system does.
    /// </summary>
    public static ActorSystem System(string name, Config? config = null, ListSettings? lists = null, TimeProvider? clock = null)
    {
        var serve = new ServeSettings(HoconFile.Shipped("aggregator.hocon"), lists ?? Lists, JournalStorage.InMemory(), Security: null,
            Hostname: "127.0.0.1", Port: 0, Quiet: true);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddAkka(name, akka =>
        {
            AkkaWiring.Configure(akka, serve, new AggregatorMetrics(), clock);
            akka.AddHocon((config ?? ConfigurationFactory.Empty).WithFallback(Config), HoconAddMode.Prepend);
        });
        var host = builder.Build();
        host.Start();
        var system = host.Services.GetRequiredService<ActorSystem>();
        system.WhenTerminated.ContinueWith(_ => host.Dispose(), TaskScheduler.Default);
        return system;
    }

    /// <summary>A TCP port free on loopback now.</summary>
    public static int FreePort() => TestSupport.FreePorts.Next();

    /// <summary>The system's <c>/user/lists</c>, as <c>serve</c> registers it.</summary>
    public static IActorRef Entry(ActorSystem system) => ActorRegistry.For(system).Get<ListsEntry>();

    /// <summary>The production <c>/user/lists</c> of a single node (<see cref="AkkaWiring.LocalListsProps"/>) with the spec's settings.</summary>
    public static Props ListsProps(ListSettings settings, TimeProvider? clock = null) =>
        AkkaWiring.LocalListsProps(settings, new AggregatorMetrics(), clock);

    public static AppendBatch Batch(string list, string producer, ulong first, params string[] items) => new()
    {
        List = list,
        Producer = producer,
        FirstOffset = first,
        Count = (uint)items.Length,
        Items = PackedItems.Encode(items),
    };

    /// <summary>Appends and expects the acknowledgement that every item is in.</summary>
    public static async Task AppendAsync(this TestKitBase kit, IActorRef lists, string list, string producer, ulong first, params string[] items)
    {
        lists.Tell(Batch(list, producer, first, items), kit.TestActor);
        var ack = await kit.ExpectMsgAsync<BatchAppended>();
        Assert.Equal(first + (ulong)items.Length, ack.NextOffset);
    }

    /// <summary>Where the list says <paramref name="producer"/> resumes.</summary>
    public static async Task<ulong> ResumeAsync(this TestKitBase kit, IActorRef lists, string list, string producer)
    {
        lists.Tell(new GetResumePosition { List = list, Producer = producer }, kit.TestActor);
        return (await kit.ExpectMsgAsync<ResumePosition>()).NextOffset;
    }

    /// <summary>Stops a lists actor and its lists (as a crash would, without a final write); starts a new one from <paramref name="props"/>.</summary>
    public static async Task<IActorRef> RestartAsync(this TestKitBase kit, IActorRef lists, Props props, string name)
    {
        kit.Watch(lists);
        lists.Tell(PoisonPill.Instance);
        await kit.ExpectTerminatedAsync(lists);
        return kit.Sys.ActorOf(props, name);
    }

    /// <summary>Reads the whole list through <paramref name="lists"/>, page by page, answered to the test actor.</summary>
    public static async Task<List<string>> ReadListAsync(this TestKitBase kit, IActorRef lists, string list)
    {
        var items = new List<string>();
        while (true)
        {
            lists.Tell(new GetRange { List = list, From = (ulong)items.Count }, kit.TestActor);
            var page = await kit.ExpectMsgAsync<ItemRange>();
            items.AddRange(PackedItems.Decode(page.Items.Span));
            if (page.Count == 0 || (ulong)items.Count >= page.Length)
            {
                return items;
            }
        }
    }
}
