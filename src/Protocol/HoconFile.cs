using System.Globalization;
using System.Text;
using Akka.Configuration;

namespace Protocol;

/// <summary>
/// Loads a process's HOCON file, checked, with command-line and environment overrides
/// applied in front of it (Akka's parser does not read the environment) and the wire
/// serializer's bindings behind it.
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

    /// <summary>Loads <paramref name="path"/>; overrides are HOCON paths and raw string values.</summary>
    /// <exception cref="ConfigurationException">the file is missing, unreadable or malformed.</exception>
    public static HoconFile Load(string path, IEnumerable<KeyValuePair<string, string>>? overrides = null)
    {
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

        var config = file;
        if (overrides is not null)
        {
            var hocon = new StringBuilder();
            foreach (var (key, value) in overrides)
            {
                hocon.Append(key).Append(" = ").Append(Quote(value)).Append('\n');
            }

            config = ConfigurationFactory.ParseString(hocon.ToString()).WithFallback(file);
        }

        return new HoconFile(path, config.WithFallback(ProtocolSerializer.ProcessConfiguration), text.Split('\n'));
    }

    /// <summary>Quotes a value for HOCON, so that overrides cannot inject structure.</summary>
    public static string Quote(string value)
    {
        var quoted = new StringBuilder("\"");
        foreach (var c in value)
        {
            _ = c switch
            {
                '"' => quoted.Append("\\\""),
                '\\' => quoted.Append("\\\\"),
                '\n' => quoted.Append("\\n"),
                '\r' => quoted.Append("\\r"),
                '\t' => quoted.Append("\\t"),
                _ => quoted.Append(c),
            };
        }

        return quoted.Append('"').ToString();
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

    /// <summary>Best effort: the last line that sets the key's last segment.</summary>
    private int? LineOf(string key)
    {
        var last = key[(key.LastIndexOf('.') + 1)..];
        for (var i = _lines.Length - 1; i >= 0; i--)
        {
            var line = _lines[i].TrimStart();
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
