namespace EndToEnd.Tests;

/// <summary>Input files of numbered items in a temporary directory, deleted on dispose.</summary>
internal sealed class ItemFiles : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("e2e").FullName;

    /// <summary>PREFIX-00000000, PREFIX-00000001, …: 13 bytes for a 4-character prefix.</summary>
    public static IEnumerable<string> Items(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => $"{prefix}-{i:D8}");

    /// <summary>Writes <see cref="Items"/> one per line and returns the file's path.</summary>
    public string Write(string name, string prefix, int count)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllLines(path, Items(prefix, count));
        return path;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
