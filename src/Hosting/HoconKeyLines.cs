using System.Text.RegularExpressions;

namespace Hosting;

/// <summary>
/// The line of a HOCON file that sets a key, for messages: the key's path is made from the
/// blocks around each setting (<c>a { b { c = 1 } }</c>, <c>a.b { c = 1 }</c>, <c>a.b.c = 1</c>),
/// so that a <c>port</c> in one block is not taken for a <c>port</c> in another. Best effort on
/// a file the syntax check passed: a setting it cannot place gives the last line that starts
/// with the key's last segment.
/// </summary>
internal static partial class HoconKeyLines
{
    /// <summary>The 1-based line of the last setting of <paramref name="key"/>, or null.</summary>
    public static int? LineOf(string[] lines, string key)
    {
        try
        {
            return ByPath(lines, key) ?? ByLastSegment(lines, key);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or RegexMatchTimeoutException)
        {
            return ByLastSegment(lines, key);
        }
    }

    private static int? ByPath(string[] lines, string key)
    {
        var blocks = new Stack<string>();
        int? found = null;
        for (var i = 0; i < lines.Length; i++)
        {
            // One setting or block per piece: "a { b = 1, c = 2 }" is three pieces on one line.
            foreach (var piece in Pieces(WithoutComment(lines[i])))
            {
                if (piece == "}")
                {
                    if (blocks.Count > 0)
                    {
                        blocks.Pop();
                    }

                    continue;
                }

                var setting = Setting().Match(piece);
                if (!setting.Success)
                {
                    continue;
                }

                var path = setting.Groups["path"].Value.Replace("\"", string.Empty, StringComparison.Ordinal);
                var full = blocks.Count == 0 ? path : $"{blocks.Peek()}.{path}";
                if (setting.Groups["block"].Success)
                {
                    blocks.Push(full);
                }
                else if (full == key)
                {
                    found = i + 1;
                }
            }
        }

        return found;
    }

    /// <summary>The line cut into "NAME {", "}" and "NAME = VALUE" pieces (braces and commas inside quotes left alone).</summary>
    private static IEnumerable<string> Pieces(string line)
    {
        var start = 0;
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == '$' && i + 1 < line.Length && line[i + 1] == '{')
            {
                // A substitution, ${a.b} or ${?VARIABLE}: part of a value, not a block.
                var end = line.IndexOf('}', i);
                i = end < 0 ? line.Length - 1 : end;
            }
            else if (!quoted && c is '{' or '}' or ',')
            {
                var before = line[start..i].Trim();
                if (c == '{')
                {
                    yield return before + " {";
                }
                else
                {
                    if (before.Length > 0)
                    {
                        yield return before;
                    }

                    if (c == '}')
                    {
                        yield return "}";
                    }
                }

                start = i + 1;
            }
        }

        if (line[start..].Trim() is { Length: > 0 } rest)
        {
            yield return rest;
        }
    }

    private static string WithoutComment(string line)
    {
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && (line[i] == '#' || (line[i] == '/' && i + 1 < line.Length && line[i + 1] == '/')))
            {
                return line[..i];
            }
        }

        return line;
    }

    private static int? ByLastSegment(string[] lines, string key)
    {
        var last = key[(key.LastIndexOf('.') + 1)..];
        var index = Array.FindLastIndex(lines, line =>
            line.TrimStart().StartsWith(last, StringComparison.Ordinal) || line.TrimStart().StartsWith(key, StringComparison.Ordinal));
        return index < 0 ? null : index + 1;
    }

    /// <summary>"NAME {", "NAME = {", "NAME : {" (a block), or "NAME = VALUE", "NAME : VALUE", "NAME VALUE".</summary>
    [GeneratedRegex("""^(?<path>[A-Za-z0-9_"][A-Za-z0-9_.\-"]*)\s*(?:(?<block>[=:]?\s*\{)$|[=:]|\s)""", RegexOptions.None, 100)]
    private static partial Regex Setting();
}
