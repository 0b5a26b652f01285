// The client library's rows of bench/run.sh, in one process:
//
//   ClientBench produce CONTACTS LIST FILE...   one producer per items file (one line an item, read as UTF-8
//                                               bytes, as the Worker does), all of one client, at once;
//                                               prints items and seconds from the first add to the last
//                                               acknowledgement, after checking every producer's count
//   ClientBench latency CONTACTS COUNT           COUNT one-shot AppendAsync calls, each followed by an Identify
//                                               round trip (PingAsync), so that both run at the same moments on
//                                               the same warm code; prints both p50 and p99 in µs
using System.Diagnostics;
using System.Globalization;
using Actors.Client;
using Worker;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: ClientBench produce CONTACTS LIST FILE... | latency CONTACTS COUNT");
    return 2;
}

await using var client = await AggregatorClient.ConnectAsync(new AggregatorClientOptions { Contacts = args[1] });
switch (args[0])
{
    case "produce":
    {
        var list = client.List(args[2]);
        var files = args[3..];

        // As the workers' figure: from the first item sent, after each producer asked where to start.
        var producers = files.Select((_, i) => list.CreateProducer($"lib{i}")).ToArray();
        await Task.WhenAll(producers.Select(p => p.StartAsync()));
        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(files.Select((file, i) => Task.Run(async () =>
        {
            await using var producer = producers[i];
            await foreach (var line in Utf8Lines(file))
            {
                await producer.AddAsync(line);
            }

            return await producer.FlushAsync();
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        var items = results.Sum(r => (double)r.Appended);
        var expected = files.Sum(f => (double)File.ReadLines(f).LongCount());
        if (items != expected)
        {
            Console.Error.WriteLine($"ClientBench: {items} items appended, expected {expected}");
            return 1;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"items={items:0} seconds={seconds:0.000} items_per_second={items / seconds:0}"));
        return 0;
    }

    case "latency":
    {
        var count = int.Parse(args[2], CultureInfo.InvariantCulture);
        var list = client.List($"latency-{Guid.NewGuid():N}"[..20]);
        var (append, ping) = await RoundTrips.TimePairsAsync(count, () => list.AppendAsync(["latency-probe"]), () => client.PingAsync());
        await list.DeleteAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"append_p50_us={RoundTrips.Percentile(append, 50):0.0} append_p99_us={RoundTrips.Percentile(append, 99):0.0} identify_p50_us={RoundTrips.Percentile(ping, 50):0.0} identify_p99_us={RoundTrips.Percentile(ping, 99):0.0}"));
        return 0;
    }

    default:
        Console.Error.WriteLine($"ClientBench: unknown mode '{args[0]}'");
        return 2;
}

// The file's lines as UTF-8 bytes, as the Worker reads its input (no strings in between);
// each line's memory is valid until the next one is asked for.
static async IAsyncEnumerable<ReadOnlyMemory<byte>> Utf8Lines(string path)
{
    await using var stream = File.OpenRead(path);
    var buffer = new byte[1 << 20];
    int start = 0, end = 0;
    while (true)
    {
        var newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
        if (newline >= 0)
        {
            yield return buffer.AsMemory(start, newline);
            start += newline + 1;
            continue;
        }

        // Move the partial line to the front, then read more.
        buffer.AsSpan(start, end - start).CopyTo(buffer);
        end -= start;
        start = 0;
        var read = await stream.ReadAsync(buffer.AsMemory(end));
        if (read == 0)
        {
            if (end > 0)
            {
                yield return buffer.AsMemory(0, end);
            }

            yield break;
        }

        end += read;
    }
}
