using System.Text;
using System.Text.Unicode;

namespace Worker;

/// <summary>
/// The arguments' own bytes. .NET hands <c>Main</c> its arguments decoded from UTF-8, each
/// invalid sequence replaced by U+FFFD: an item given as an argument in Latin-1 would be stored
/// with the replacement, where the same bytes in a file are refused. On Linux,
/// <c>/proc/self/cmdline</c> still holds them as given; elsewhere they are not checked.
/// </summary>
internal static class RawArguments
{
    /// <summary>Refuses the first of <paramref name="items"/> (found in order among <paramref name="args"/>) whose bytes are not UTF-8.</summary>
    /// <exception cref="InputException">an item given as an argument is not valid UTF-8.</exception>
    public static void CheckItems(string[] args, IReadOnlyList<string> items)
    {
        if (items.Count == 0 || !items.Any(item => item.Contains('\uFFFD')) || Tail(args) is not { } raw)
        {
            return;
        }

        var next = 0;
        for (var i = 0; i < items.Count; i++)
        {
            while (next < args.Length && args[next] != items[i])
            {
                next++;
            }

            if (next == args.Length)
            {
                return;
            }

            if (InputReader.InvalidUtf8At(raw[next++]) is { } at)
            {
                throw new InputException($"argument {i + 1} is not valid UTF-8 (at byte {at}); nothing was sent", i + 1);
            }
        }
    }

    /// <summary>The last <paramref name="args"/>.Length entries of this process's command line, when they are these arguments.</summary>
    private static byte[][]? Tail(string[] args)
    {
        byte[] line;
        try
        {
            line = File.ReadAllBytes("/proc/self/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return null;
        }

        var entries = new List<byte[]>();
        for (int start = 0, end; start < line.Length; start = end + 1)
        {
            end = Array.IndexOf(line, (byte)0, start);
            end = end < 0 ? line.Length : end;
            entries.Add(line[start..end]);
        }

        if (entries.Count < args.Length)
        {
            return null;
        }

        var tail = entries[^args.Length..].ToArray();
        for (var k = 0; k < args.Length; k++)
        {
            var same = Utf8.IsValid(tail[k]) ? Encoding.UTF8.GetString(tail[k]) == args[k] : args[k].Contains('\uFFFD');
            if (!same)
            {
                return null; // not this process's own arguments (a spec parsing a command line of its own)
            }
        }

        return tail;
    }
}
