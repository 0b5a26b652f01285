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
    public void WorkerSettings_should_refuse_keys_that_contradict_each_other_naming_the_key(string text, string key, string problem)
    {
        var path = Write("bad.hocon", text);

        var error = Assert.Throws<ConfigurationException>(() => WorkerSettings.From(HoconFile.Load(path, "worker.hocon")));

        Assert.Equal(key, error.Key);
        Assert.Contains(problem, error.Message);
        Assert.StartsWith(path, error.Message);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
