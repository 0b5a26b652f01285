using Config = Akka.Configuration.Config;
using ConfigurationFactory = Akka.Configuration.ConfigurationFactory;
using Akka.Configuration.Hocon;
using Hosting;

namespace Worker.Tests;

/// <summary>The worker's configuration file turned into the client library's options: the keys that must agree with each other.</summary>
public sealed class WorkerSettingsSpecs : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("worker-settings-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void WorkerSettings_should_take_the_shipped_values_when_the_file_sets_nothing()
    {
        var options = WorkerSettings.From(HoconFile.Load(Write("empty.hocon", ""), "worker.hocon"));

        Assert.Equal(16, options.MaxInFlight);
        Assert.True(options.RetryMinBackoff <= options.RetryMaxBackoff);
    }

    [Theory]
    [InlineData("actors.worker { retry-min-backoff = 2s, retry-max-backoff = 1s }", "actors.worker.retry-max-backoff", "1 s is below retry-min-backoff (2 s)")]
    [InlineData("actors.worker { max-item-bytes = 80000, batch-max-bytes = 80000 }", "actors.worker.max-item-bytes", "does not fit in one batch")]
    [InlineData("actors.worker.batch-max-bytes = 200000", "actors.worker.batch-max-bytes", "does not fit the maximum-frame-size")]
    [InlineData("akka.remote.dot-netty.tcp.maximum-frame-size = big", "akka.remote.dot-netty.tcp.maximum-frame-size", "'big' is not a size such as 128000b")]
    [InlineData("actors.logging.hide-unreachable-warnings = maybe", "actors.logging.hide-unreachable-warnings", "'maybe' is not on or off")]
    public void WorkerSettings_should_refuse_keys_that_contradict_each_other_naming_the_key(string text, string key, string problem)
    {
        var path = Write("bad.hocon", text);

        var error = Assert.Throws<ConfigurationException>(() =>
        {
            var file = HoconFile.Load(path, "worker.hocon");
            WorkerSettings.From(file);
            OneLineLogging.FactoryFor(file).Dispose();
        });

        Assert.Equal(key, error.Key);
        Assert.Contains(problem, error.Message);
        Assert.StartsWith(path, error.Message);
    }

    [Fact]
    public void The_shipped_akka_block_should_say_what_the_library_sets_by_default()
    {
        // The Worker's file goes over the library's own defaults (ClientSystem): a key the file
        // repeats with another value would make the Worker and an application differ unnoticed.
        var shipped = Leaves(HoconFile.Shipped("worker.hocon").Config.GetConfig("akka"));
        var library = Leaves(ConfigurationFactory.ParseString(Actors.Client.ClientSystem.Defaults).GetConfig("akka"));

        Assert.Contains("actor.serializers.json", shipped.Keys);
        var differ = shipped.Where(pair => library.GetValueOrDefault(pair.Key) != pair.Value)
            .Select(pair => $"akka.{pair.Key}: worker.hocon {pair.Value}, library {library.GetValueOrDefault(pair.Key) ?? "(not set)"}");
        Assert.Empty(differ);
    }

    /// <summary>Every leaf under <paramref name="config"/>'s root, by its dotted path.</summary>
    private static Dictionary<string, string> Leaves(Config config)
    {
        var leaves = new Dictionary<string, string>(StringComparer.Ordinal);
        void Walk(string path, HoconValue value)
        {
            if (value.IsObject())
            {
                foreach (var (key, child) in value.GetObject().Items)
                {
                    Walk(path.Length == 0 ? key : $"{path}.{key}", child);
                }
            }
            else
            {
                leaves[path] = value.IsArray() ? string.Join(",", value.GetArray().Select(v => v.GetString())) : value.GetString();
            }
        }

        Walk(string.Empty, config.Root);
        return leaves;
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
