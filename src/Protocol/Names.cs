namespace Protocol;

/// <summary>
/// What a list name or a producer id may be. Both sides check: the worker before it
/// sends, the aggregator before it creates anything. The rule keeps names usable as actor
/// names, journal ids and file names without escaping.
/// </summary>
public static class Names
{
    public const int MaxLength = 128;

    /// <summary>Null when <paramref name="name"/> is valid, else why not.</summary>
    public static string? Check(string? name, string what)
    {
        if (string.IsNullOrEmpty(name))
        {
            return $"{what} must not be empty";
        }

        if (name.Length > MaxLength)
        {
            return $"{what} is {name.Length} characters long; the limit is {MaxLength}";
        }

        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
                     || (i > 0 && c is '-' or '_' or '.');
            if (!ok)
            {
                return $"{what} '{name}' has '{c}' at position {i + 1}: use letters, digits, and (not first) '-', '_' or '.'";
            }
        }

        return null;
    }
}
