namespace Hosting;

/// <summary>
/// The substitutions of a HOCON file (<c>${a.b}</c>), checked as <see cref="HoconSyntax"/>
/// reads it, because Akka's parser (1.5.75) gets two kinds wrong without a word: one that
/// refers back to its own setting (<c>a = ${a}</c>, <c>a.c = ${a}</c>, or a cycle through
/// other settings) builds an endless value, which overflows the stack or grows memory until
/// the process dies; and one that names no setting of the file fails with no line. Each
/// setting's path is made from the blocks around it; a substitution names a setting when it
/// is that setting, an object holding it, or a value inside it. A file with an include is
/// not checked for names (the included file may set them), only for cycles.
/// </summary>
internal sealed class HoconSubstitutions
{
    private readonly HashSet<string> _settings = [];
    private readonly List<(string Owner, HoconSyntax.Token At, string Target)> _references = [];
    private bool _includes;

    /// <summary><paramref name="key"/> (dotted, maybe quoted) under the object at <paramref name="path"/>.</summary>
    public static string Join(string path, string key)
    {
        var unquoted = key.Replace("\"", string.Empty, StringComparison.Ordinal);
        return path.Length == 0 ? unquoted : $"{path}.{unquoted}";
    }

    public void Include() => _includes = true;

    /// <summary>The file sets <paramref name="path"/> (an array's elements are its own).</summary>
    public void Set(string path) => _settings.Add(Node(path));

    /// <summary>The value of <paramref name="path"/> holds the substitution <paramref name="token"/>.</summary>
    public void Refer(string path, HoconSyntax.Token token) =>
        _references.Add((Node(path), token, Join("", token.Text[2..^1].Trim())));

    /// <summary>The first substitution that names nothing or closes a cycle, with what to say; null when all are sound.</summary>
    public (HoconSyntax.Token At, string Message)? Problem()
    {
        foreach (var (_, at, target) in _references)
        {
            if (!_includes && !_settings.Any(setting => Names(target, setting)))
            {
                return (at, $"'{at.Text}' names no setting of this file (Akka.NET's HOCON substitutes only from the same file: not from the environment, nor from the shipped defaults)");
            }
        }

        // Depth-first over settings, an edge from each setting to every setting its substitutions name.
        var state = new Dictionary<string, bool>(); // false: on the path being followed; true: done, no cycle through it
        foreach (var (owner, _, _) in _references)
        {
            if (Cycle(owner, state, []) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    private (HoconSyntax.Token, string)? Cycle(string setting, Dictionary<string, bool> state, List<string> trail)
    {
        if (state.ContainsKey(setting))
        {
            return null; // done, or on the trail: the caller that found it on the trail reports it
        }

        state[setting] = false;
        trail.Add(setting);
        foreach (var (_, at, target) in _references.Where(reference => reference.Owner == setting))
        {
            foreach (var next in _settings.Where(other => Names(target, other)))
            {
                if (state.TryGetValue(next, out var finished) && !finished)
                {
                    var loop = string.Join(" -> ", trail[trail.IndexOf(next)..].Append(next).Select(s => $"'{s}'"));
                    return (at, $"'{at.Text}' refers back to its own setting ({loop}), which Akka.NET's HOCON cannot resolve: write the value");
                }

                if (Cycle(next, state, trail) is { } cycle)
                {
                    return cycle;
                }
            }
        }

        trail.RemoveAt(trail.Count - 1);
        state[setting] = true;
        return null;
    }

    /// <summary>A substitution of <paramref name="target"/> takes <paramref name="setting"/>'s value, or a part of it.</summary>
    private static bool Names(string target, string setting) =>
        target == setting
        || setting.StartsWith(target + ".", StringComparison.Ordinal)
        || target.StartsWith(setting + ".", StringComparison.Ordinal);

    private static string Node(string path) => path.Replace("[]", string.Empty, StringComparison.Ordinal);
}
