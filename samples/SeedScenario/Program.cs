// The seed's scenario as a program of your own: two producers append one…five and six…ten to
// the list "seed" at the same time, then the list is printed as a JSON array on stdout.
//
//   dotnet run --project src/Aggregator -- serve          # an aggregator on 127.0.0.1:25520
//   dotnet run --project samples/SeedScenario             # or: … -- HOST:PORT[,HOST:PORT…]
//
// Run it twice: each producer id resumes where it stopped, so the list still holds ten items.
using System.Text.Json;
using Actors.Client;

var options = new AggregatorClientOptions { Contacts = args.FirstOrDefault() ?? string.Empty }; // else $ACTORS_AGGREGATOR, else 127.0.0.1:25520
try
{
    await using var client = await AggregatorClient.ConnectAsync(options);
    var list = client.List("seed");

    async Task ProduceAsync(string producerId, string[] items)
    {
        await using var producer = list.CreateProducer(producerId);
        foreach (var item in items)
        {
            await producer.AddAsync(item);
        }

        await producer.FlushAsync(); // returns once every item is durable in the aggregator
    }

    await Task.WhenAll(
        ProduceAsync("seed-1", ["one", "two", "three", "four", "five"]),
        ProduceAsync("seed-2", ["six", "seven", "eight", "nine", "ten"]));

    var all = new List<string>();
    await foreach (var item in list.ReadAsync())
    {
        all.Add(item);
    }

    Console.WriteLine(JsonSerializer.Serialize(all));
    return 0;
}
catch (AggregatorException e)
{
    Console.Error.WriteLine($"SeedScenario: {e.Message}");
    return e is AggregatorUnreachableException ? 3 : 1;
}
catch (ArgumentException e)
{
    // A contact that is not HOST:PORT, or an option out of range.
    Console.Error.WriteLine($"SeedScenario: {e.Message}");
    return 2;
}
