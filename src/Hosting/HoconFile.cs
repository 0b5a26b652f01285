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
    private readonly IReadOnlyDictionary<string, int> _lines;

    private HoconFile(string path, Config config, IReadOnlyDictionary<string, int> lines)
    {
        Path = path;
        Config = config;
        _lines = lines;
    }

    public string Path { get; }

    public Config Config { get; }

    /// <summary><paramref name="text"/> as a quoted HOCON string, for settings applied in code in front of a file.</summary>
    public static string Quote(string text) =>
        "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>The shipped file <paramref name="shippedName"/> (aggregator.hocon, worker.hocon) alone, as loaded.</summary>
    public static HoconFile Shipped(string shippedName) =>
        new($"(shipped {shippedName})", ConfigurationFactory.FromResource<HoconFile>(shippedName), new Dictionary<string, int>());

    /// <summary>
    /// Loads <paramref name="path"/> (null: the copy of <paramref name="shippedName"/> next
    /// to the executable) in front of the shipped <paramref name="shippedName"/>.
    /// </summary>
    /// <exception cref="ConfigurationException">the file is missing, unreadable or malformed, or has an unknown key.</exception>
    public static HoconFile Load(string? path, string shippedName)
    {
        if (path is { Length: 0 })
        {
            throw new UsageException("--config is empty: give the path of a HOCON file"); // "--config $UNSET_VARIABLE"
        }

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

        var lines = HoconSyntax.Check(text, path);
        Config file;
        try
        {
            file = ConfigurationFactory.ParseString(text);
        }
        catch (Exception e)
        {
            throw new ConfigurationException(path, null, null, e.Message);
        }

        // Every key the file sets under actors. must be one the shipped file has.
        var shipped = Shipped(shippedName).Config;
        var known = KeysUnder(shipped, "actors").ToArray();
        if (file.HasPath("actors") && KeysUnder(file, "actors").FirstOrDefault(key => !known.Contains(key)) is { } unknown)
        {
            var nearest = known.MinBy(k => Distance(k, unknown));
            throw new ConfigurationException(path, LineOf(lines, unknown), unknown, $"unknown key; did you mean '{nearest}'?");
        }

        return new HoconFile(path, file.WithFallback(shipped), lines);
    }

    /// <summary>The full paths of the values under <paramref name="root"/> (the root itself if it is a value).</summary>
    public static IEnumerable<string> KeysUnder(Config config, string root) =>
        config.GetValue(root) is { } value && value.IsObject()
            ? value.GetObject().Items.Keys.SelectMany(key => KeysUnder(config, $"{root}.{key}"))
            : [root];

    /// <summary>Levenshtein distance, for the nearest known key: one row of the table, updated in place.</summary>
    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
                diagonal = row[j];
                row[j] = Math.Min(Math.Min(row[j - 1], row[j]) + 1, substitution);
            }
        }

        return row[b.Length];
    }

    /// <summary>The value of <paramref name="key"/>, as text.</summary>
    public string GetString(string key)
    {
        try
        {
            return Config.GetString(key) ?? throw new ConfigurationException(Path, LineOf(_lines, key), key, "has no value here (null, a block or a list)");
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException(Path, LineOf(_lines, key), key, e.Message);
        }
    }

    /// <summary><c>akka.loglevel</c>, checked and in capitals: DEBUG, INFO, WARNING, ERROR or OFF.</summary>
    public string LogLevel()
    {
        var value = GetString("akka.loglevel");
        var level = value.ToUpperInvariant();
        return level is "DEBUG" or "INFO" or "WARNING" or "ERROR" or "OFF" ? level
            : throw Invalid("akka.loglevel", value, "DEBUG, INFO, WARNING, ERROR or OFF");
    }

    public bool GetBoolean(string key) => GetString(key) switch
    {
        "on" or "true" or "yes" => true,
        "off" or "false" or "no" => false,
        var value => throw Invalid(key, value, "on or off"),
    };

    public int GetInt(string key, int min = int.MinValue, int max = int.MaxValue)
    {
        var value = GetString(key);
        return !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? throw Invalid(key, value, "a whole number")
            : number < min || number > max ? throw Invalid(key, value, $"a number from {min} to {max}")
            : number;
    }

    public TimeSpan GetTimeSpan(string key)
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
    }

    /// <summary>A size in bytes, such as 128000b or 256 KiB.</summary>
    public long GetByteSize(string key)
    {
        var value = GetString(key);
        try
        {
            return Config.GetByteSize(key) is { } size and > 0 ? size : throw Invalid(key, value, "a positive size such as 128000b or 256KiB");
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw Invalid(key, value, "a size such as 128000b or 256KiB");
        }
    }

    private ConfigurationException Invalid(string key, string value, string expected) =>
        new(Path, LineOf(_lines, key), key, $"'{value}' is not {expected}");

    /// <summary>The line of the file that sets <paramref name="key"/> last, or null (the shipped file's value).</summary>
    private static int? LineOf(IReadOnlyDictionary<string, int> lines, string key) => lines.TryGetValue(key, out var line) ? line : null;
}

/// <summary>A configuration problem, with the file, line and key when they are known.</summary>
public sealed class ConfigurationException(string file, int? line, string? key, string problem)
    : Exception(Describe(file, line, key, problem))
{
    public string File { get; } = file;

    public int? Line { get; } = line;

    public string? Key { get; } = key;

    private static string Describe(string file, int? line, string? key, string problem) =>
        $"{(line is null ? file : $"{file}:{line}")}: {(key is null ? "" : $"{key}: ")}{problem}";
}
