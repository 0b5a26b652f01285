using System.Globalization;

namespace Actors.Client;

/// <summary>A HOST:PORT where an aggregator listens (<c>[v6]:PORT</c> for IPv6).</summary>
/// <param name="Host">a host name or address.</param>
/// <param name="Port">a TCP port.</param>
public readonly record struct Endpoint(string Host, int Port)
{
    /// <summary>HOST:PORT, with an IPv6 address in brackets.</summary>
    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>
    /// Parses one HOST:PORT, or several separated by commas; <paramref name="error"/> hears
    /// what is wrong, in terms of <paramref name="option"/>.
    /// </summary>
    public static IReadOnlyList<Endpoint> ParseList(string text, string option, Action<string> error)
    {
        var endpoints = new List<Endpoint>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Length == 0)
            {
                error($"{option} '{text}' has an empty entry (HOST:PORT,HOST:PORT...)");
                return [];
            }

            if (Parse(part, option, error) is not { } endpoint)
            {
                return [];
            }

            if (endpoints.Contains(endpoint))
            {
                error($"{option} names {endpoint} twice");
                return [];
            }

            endpoints.Add(endpoint);
        }

        return endpoints;
    }

    /// <summary>One HOST:PORT; null (and <paramref name="error"/> told why) when it is not one.</summary>
    public static Endpoint? Parse(string text, string option, Action<string> error)
    {
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : string.Empty;
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (host.Length == 0 || host.Contains(' ') || (host.Contains(':') && !text.StartsWith('[')))
        {
            error($"{option} '{text}' is not HOST:PORT (for example 127.0.0.1:25520)");
            return null;
        }

        var portText = text[(colon + 1)..];
        if (int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535)
        {
            return new Endpoint(host, port);
        }

        error($"{option} '{text}': '{portText}' is not a port number (1 to 65535)");
        return null;
    }
}
