using System.Globalization;
using System.Text;
using Akka.Configuration;

namespace Hosting;

/// <summary>
/// A process's configuration: its HOCON file (the copy of config/NAME next to the binary,
/// or the file named by --config), checked, in front of the same file as shipped, embedded
/// in this assembly. The shipped files are the one home of every default: a --config file
/// sets only what it changes, and a key under <c>actors.</c> that the shipped file does not
/// have is refused, naming the nearest one it does.
/// </summary>
public sealed class HoconFile
{
    private readonly string[] _lines;

    private HoconFile(string path, Config config, string[] lines)
    {
        Path = path;
        Config = config;
        _lines = lines;
    }

    public string Path { get; }

    public Config Config { get; }

    /// <summary>The shipped file <paramref name="shippedName"/> (aggregator.hocon, worker.hocon) alone, as loaded.</summary>
    public static HoconFile Shipped(string shippedName)
    {
        var config = ShippedConfig(shippedName);
        return new HoconFile($"(shipped {shippedName})", config, []);
    }

    private static Config ShippedConfig(string shippedName)
    {
        using var stream = typeof(HoconFile).Assembly.GetManifestResourceStream(shippedName)
            ?? throw new ArgumentException($"no shipped configuration named {shippedName}", nameof(shippedName));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    /// <summary>
    /// Loads <paramref name="path"/> (null: the copy of <paramref name="shippedName"/> next
    /// to the executable) in front of the shipped <paramref name="shippedName"/>.
    /// </summary>
    /// <exception cref="ConfigurationException">the file is missing, unreadable or malformed, or has an unknown key.</exception>
    public static HoconFile Load(string? path, string shippedName)
    {
        path ??= System.IO.Path.Combine(AppContext.BaseDirectory, shippedName);
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException(path, null, null,
                e is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist" : e.Message);
        }

        if (HoconSyntax.Check(text) is { } problem)
        {
            throw new ConfigurationException(path, problem.Line, null, problem.Message);
        }

        Config file;
        try
        {
            file = ConfigurationFactory.ParseString(text);
        }
        catch (Exception e)
        {
            throw new ConfigurationException(path, null, null, e.Message);
        }

        var shipped = ShippedConfig(shippedName);
        var lines = text.Split('\n');
        CheckKnownKeys(file, shipped, path, lines);
        return new HoconFile(path, file.WithFallback(shipped), lines);
    }

    /// <summary>Every key the file sets under <c>actors.</c> must be one the shipped file has.</summary>
    private static void CheckKnownKeys(Config file, Config shipped, string path, string[] lines)
    {
        if (!file.HasPath("actors"))
        {
            return;
        }

        var known = KeysUnder(shipped, "actors").ToArray();
        foreach (var key in KeysUnder(file, "actors"))
        {
            if (!known.Contains(key, StringComparer.Ordinal))
            {
                var nearest = known.MinBy(k => Distance(k, key))!;
                throw new ConfigurationException(path, LineOf(lines, key), key, $"unknown key; did you mean '{nearest}'?");
            }
        }
    }

    /// <summary>The full paths of the values under <paramref name="root"/> (the root itself if it is a value).</summary>
    public static IEnumerable<string> KeysUnder(Config config, string root)
    {
        var value = config.GetValue(root);
        if (value is null || !value.IsObject())
        {
            yield return root;
            yield break;
        }

        foreach (var key in value.GetObject().Items.Keys)
        {
            foreach (var leaf in KeysUnder(config, $"{root}.{key}"))
            {
                yield return leaf;
            }
        }
    }

    /// <summary>Levenshtein distance, for the nearest known key.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    public string GetString(string key) => Read(key, () => Config.GetString(key) ?? throw Missing(key));

    public bool GetBoolean(string key) => Read(key, () =>
    {
        var value = GetString(key);
        return value switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw Invalid(key, value, "on or off"),
        };
    });

    public int GetInt(string key, int min = int.MinValue, int max = int.MaxValue) => Read(key, () =>
    {
        var value = GetString(key);
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
        {
            throw Invalid(key, value, "a whole number");
        }

        if (number < min || number > max)
        {
            throw Invalid(key, value, $"a number from {min} to {max}");
        }

        return number;
    });

    public TimeSpan GetTimeSpan(string key) => Read(key, () =>
    {
        var value = GetString(key);
        try
        {
            var span = Config.GetTimeSpan(key, null, allowInfinite: false);
            return span > TimeSpan.Zero ? span : throw Invalid(key, value, "a positive duration such as 500ms or 10s");
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw Invalid(key, value, "a duration such as 500ms or 10s");
        }
    });

    private T Read<T>(string key, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException(Path, LineOf(key), key, e.Message);
        }
    }

    private ConfigurationException Missing(string key) =>
        new(Path, null, key, "the key is missing");

    private ConfigurationException Invalid(string key, string value, string expected) =>
        new(Path, LineOf(key), key, $"'{value}' is not {expected}");

    private int? LineOf(string key) => LineOf(_lines, key);

    /// <summary>Best effort: the last line that sets the key's last segment.</summary>
    private static int? LineOf(string[] lines, string key)
    {
        var last = key[(key.LastIndexOf('.') + 1)..];
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            var line = lines[i].TrimStart();
            if (line.StartsWith(last, StringComparison.Ordinal) || line.StartsWith(key, StringComparison.Ordinal))
            {
                return i + 1;
            }
        }

        return null;
    }
}

/// <summary>A configuration problem, with the file, line and key when they are known.</summary>
public sealed class ConfigurationException(string file, int? line, string? key, string problem)
    : Exception(Describe(file, line, key, problem))
{
    public string File { get; } = file;

    public int? Line { get; } = line;

    public string? Key { get; } = key;

    private static string Describe(string file, int? line, string? key, string problem)
    {
        var where = line is null ? file : $"{file}:{line}";
        return key is null ? $"{where}: {problem}" : $"{where}: {key}: {problem}";
    }
}
