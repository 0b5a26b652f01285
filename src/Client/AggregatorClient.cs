using System.Diagnostics;
using Akka.Actor;
using Protocol.Messages;

namespace Actors.Client;

/// <summary>
/// The connection to an aggregator (or a cluster of them): create one, share it, dispose it at
/// the end. <see cref="List"/> gives the lists; every call is async, takes a
/// <see cref="CancellationToken"/>, and is bounded by the <see cref="AggregatorClientOptions"/>.
/// </summary>
/// <example>
/// <code>
/// await using var client = await AggregatorClient.ConnectAsync(new AggregatorClientOptions { Contacts = "127.0.0.1:25520" });
/// var orders = client.List("orders");
/// await using var producer = orders.CreateProducer("importer-1");
/// foreach (var line in File.ReadLines("orders.txt")) await producer.AddAsync(line);
/// await producer.FlushAsync();
/// </code>
/// </example>
public sealed class AggregatorClient : IAsyncDisposable, IDisposable
{
    private readonly bool _ownsSystem;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SharedAppender> _appenders = new();
    private int _producers;
    private bool _disposed;

    private AggregatorClient(AggregatorClientOptions options, ActorSystem system, bool ownsSystem)
    {
        Options = options;
        System = system;
        _ownsSystem = ownsSystem;
        Locator = new AggregatorLocator(system, options.Endpoints(), options);
        Requests = new Requests(Locator, options);
    }

    /// <summary>The options the client was made with.</summary>
    public AggregatorClientOptions Options { get; }

    /// <summary>The contacts, as parsed from <see cref="AggregatorClientOptions.Contacts"/>.</summary>
    public IReadOnlyList<Endpoint> Contacts => Locator.Contacts;

    /// <summary>Where requests go now (HOST:PORT): the contact that answered last.</summary>
    public string Endpoint => Requests.Endpoint;

    internal ActorSystem System { get; }

    /// <summary>Completes when the actor system stops by itself (Akka.Remote stops it when a TLS handshake it started fails).</summary>
    internal Task WhenTerminated => System.WhenTerminated;

    /// <summary>Why the actor system stopped, if it did.</summary>
    internal CoordinatedShutdown.Reason? ShutdownReason => CoordinatedShutdown.Get(System).ShutdownReason;

    internal AggregatorLocator Locator { get; }

    internal Requests Requests { get; }

    /// <summary>
    /// A client that connects when first used: no network until then. For dependency injection;
    /// <see cref="ConnectAsync"/> checks the aggregator is there.
    /// </summary>
    /// <exception cref="ArgumentException">the options cannot be used (contacts, sizes, times).</exception>
    public static AggregatorClient Create(AggregatorClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _ = options.Endpoints();
        return options.ActorSystem is { } system
            ? new AggregatorClient(options, CheckHostSystem(system, options), ownsSystem: false)
            : new AggregatorClient(options, ClientSystem.Start(options), ownsSystem: true);
    }

    /// <summary>
    /// An application's own actor system can carry the client if it has remoting and writes the
    /// wire's messages with <see cref="Protocol.ProtocolSerializer"/> (docs/client.md shows both
    /// with Akka.Hosting); else the aggregator would never understand it.
    /// </summary>
    private static ActorSystem CheckHostSystem(ActorSystem system, AggregatorClientOptions options)
    {
        if (((ExtendedActorSystem)system).Provider is not Akka.Remote.IRemoteActorRefProvider)
        {
            throw new ArgumentException(
                $"actor system '{system.Name}' has no remoting (akka.actor.provider = local): the client needs remote or cluster (Akka.Hosting: WithRemoting)",
                nameof(AggregatorClientOptions.ActorSystem));
        }

        if (system.Serialization.FindSerializerForType(typeof(AppendBatch)) is not Protocol.ProtocolSerializer)
        {
            throw new ArgumentException(
                $"actor system '{system.Name}' does not bind Protocol.ProtocolSerializer to the wire's messages (Akka.Hosting: WithCustomSerializer(ProtocolSerializer.Alias, ProtocolSerializer.BoundTypes, s => new ProtocolSerializer(s)); else BootstrapSetup.And(ProtocolSerializer.Setup))",
                nameof(AggregatorClientOptions.ActorSystem));
        }

        options.CheckFrame(system.Settings.Config, system.Name);
        return system;
    }

    /// <summary>A client whose aggregator answered: the first contact that does, within the connect time-out.</summary>
    /// <exception cref="AggregatorUnreachableException">none answered in time.</exception>
    /// <exception cref="ArgumentException">the options cannot be used.</exception>
    public static async Task<AggregatorClient> ConnectAsync(AggregatorClientOptions options, CancellationToken cancellationToken = default)
    {
        var client = Create(options);
        try
        {
            await client.Requests.ListsAsync(cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>The list <paramref name="name"/> (1 to 128 letters, digits, <c>-</c>, <c>_</c> or <c>.</c>, not first). Nothing is sent yet.</summary>
    /// <exception cref="ArgumentException">the name cannot be a list's.</exception>
    public AggregatorList List(string name = Protocol.ActorNames.DefaultList)
    {
        if (Protocol.Names.Check(name, "list name") is { } problem)
        {
            throw new ArgumentException(problem, nameof(name));
        }

        return new AggregatorList(this, name);
    }

    /// <summary>
    /// The lists the aggregator (or the cluster) holds now, with the node that answered and its
    /// version, and what it could not say in time: lists that did not give their figures, and
    /// in a cluster the nodes that did not say which lists they hold. A list deleted, and not
    /// added to since, is not one, though its actor may not have stopped yet.
    /// </summary>
    public async Task<AggregatorStats> StatsAsync(CancellationToken cancellationToken = default)
    {
        using var activity = ClientDiagnostics.Start("stats", null);
        var started = Stopwatch.GetTimestamp();
        var lists = new List<ListStatistics>();
        var unanswered = new List<string>();
        var silentNodes = new SortedSet<string>(StringComparer.Ordinal);
        var after = string.Empty;
        while (true)
        {
            var stats = (Stats)await Requests.AskAsync(new GetStats { After = after }, cancellation: cancellationToken);
            lists.AddRange(stats.Lists.Where(l => !l.Deleted).Select(ListStatistics.Of));
            unanswered.AddRange(stats.Unanswered);
            silentNodes.UnionWith(stats.SilentNodes);

            // The page goes on after its last name, answered or not.
            var last = new[] { stats.Lists.LastOrDefault()?.List, stats.Unanswered.LastOrDefault() }.Max(StringComparer.Ordinal);
            if (!stats.More || last is null)
            {
                unanswered.Sort(StringComparer.Ordinal);
                ClientDiagnostics.Took("stats", started);
                return new AggregatorStats(stats.Node, stats.Version, lists, unanswered, silentNodes.ToList());
            }

            after = last;
        }
    }

    /// <summary>One round trip to the aggregator answered by Akka itself (<c>Identify</c>): the transport's own time, none of the lists'.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var lists = await Requests.ListsAsync(cancellationToken);
        var started = Stopwatch.GetTimestamp();
        await lists.Ask<ActorIdentity>(new Identify(null), Options.RequestTimeout, cancellationToken);
        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>
    /// Stops the client's own actor system; in an actor system the application gave it, stops
    /// the actors the client started there (its producers and its watch on the aggregator) and
    /// leaves the system running.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _disposed, true); // before the producers are stopped by name: StartProducer looks after it starts one
        Interlocked.MemoryBarrier();
        Requests.Close();
        if (_ownsSystem)
        {
            // The transport's shutdown chatter is no news to the application.
            System.EventStream.SetLogLevel(Akka.Event.LogLevel.ErrorLevel);
            // No continuation on the caller's context: Dispose() blocks on this.
            await System.Terminate().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            return;
        }

        // Every producer actor of this client carries its id in its name (StartProducer).
        System.ActorSelection($"/user/producer-{InstanceId}-*").Tell(PoisonPill.Instance);
    }

    /// <summary>The same as <see cref="DisposeAsync"/>, for a container disposed synchronously (it waits up to 10 s).</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>This client's own id, part of the producer ids of its <see cref="AggregatorList.AppendAsync"/> calls.</summary>
    internal string InstanceId { get; } = Guid.NewGuid().ToString("N")[..12];

    /// <summary>The producer every <see cref="AggregatorList.AppendAsync"/> call of this client on <paramref name="list"/> goes through.</summary>
    internal SharedAppender Appender(string list) => _appenders.GetOrAdd(list, name => new SharedAppender(this, name));

    /// <summary>
    /// Starts a producer actor, named after this client (several clients may share one actor
    /// system, and one client may run several producers); disposing the client stops them by that name.
    /// </summary>
    /// <exception cref="ObjectDisposedException">the client was disposed, or its actor system stopped.</exception>
    internal IActorRef StartProducer(Props props)
    {
        if (Volatile.Read(ref _disposed))
        {
            throw ProducerAfterDisposal();
        }

        IActorRef producer;
        try
        {
            producer = System.ActorOf(props, $"producer-{InstanceId}-{Interlocked.Increment(ref _producers)}");
        }
        catch (InvalidOperationException) when (System.WhenTerminated.IsCompleted || Volatile.Read(ref _disposed))
        {
            // The actor system stops (the client's own, being disposed, or the application's).
            throw ProducerAfterDisposal();
        }

        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _disposed))
        {
            // Disposed while it started: the stop by name may have missed it.
            producer.Tell(PoisonPill.Instance);
            throw ProducerAfterDisposal();
        }

        return producer;
    }

    private static ObjectDisposedException ProducerAfterDisposal() =>
        new(null, "the aggregator client was disposed, or its actor system stopped: it starts no producer");
}

/// <summary>What <see cref="AggregatorClient.StatsAsync"/> found: the node that answered, its version, and the lists.</summary>
/// <param name="Node">the answering node's address.</param>
/// <param name="Version">its product version.</param>
/// <param name="Lists">every list held now that gave its figures, in name order.</param>
/// <param name="Unanswered">lists held now that did not give their figures within the aggregator's time-out (5 s), in name order.</param>
/// <param name="SilentNodes">in a cluster, nodes that did not say within the time-out which lists they hold: their lists are missing.</param>
public sealed record AggregatorStats(string Node, string Version, IReadOnlyList<ListStatistics> Lists,
    IReadOnlyList<string> Unanswered, IReadOnlyList<string> SilentNodes)
{
    /// <summary>Every list held now gave its figures, and every node said which lists it holds.</summary>
    public bool Complete => Unanswered.Count == 0 && SilentNodes.Count == 0;
}

/// <summary>One list's figures.</summary>
/// <param name="List">its name.</param>
/// <param name="Length">its durable length.</param>
/// <param name="Producers">producer positions it holds.</param>
/// <param name="Followers">followers waiting at its end.</param>
/// <param name="Node">the node that holds it.</param>
/// <param name="Version">that node's product version.</param>
public sealed record ListStatistics(string List, ulong Length, uint Producers, uint Followers, string Node, string Version)
{
    internal static ListStatistics Of(ListStats stats) =>
        new(stats.List, stats.Length, stats.Producers, stats.Followers, stats.Node, stats.Version);
}
