using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Hosting;

/// <summary>
/// The options both executables take, defined once (System.CommandLine): the
/// configuration file and the TLS files. Added to a root command they apply to every
/// subcommand, before or after its name.
/// </summary>
public sealed class CommonOptions
{
    public Option<string?> Config { get; } = new("--config")
    {
        Description = "HOCON file with the settings to change (default: the .hocon file next to the executable)",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string?> TlsCertificate { get; } = new("--tls-cert")
    {
        Description = "mutual TLS: this process's certificate (PEM with --tls-key, or PKCS#12 with its password in $ACTORS_TLS_PASSWORD)",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string?> TlsKey { get; } = new("--tls-key")
    {
        Description = "the PEM private key of --tls-cert",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string?> TlsAuthority { get; } = new("--tls-ca")
    {
        Description = "the certificate authority (PEM) whose certificates are trusted",
        HelpName = "FILE",
        Recursive = true,
    };

    /// <summary>Adds the options to <paramref name="root"/>, with the rule that the TLS key and CA go with a certificate.</summary>
    public void AddTo(RootCommand root)
    {
        root.Options.Add(Config);
        root.Options.Add(TlsCertificate);
        root.Options.Add(TlsKey);
        root.Options.Add(TlsAuthority);
    }

    /// <summary>Checks the rules between options of one parse.</summary>
    public void Validate(ParseResult result)
    {
        if ((result.GetResult(TlsKey) is not null || result.GetResult(TlsAuthority) is not null) && result.GetResult(TlsCertificate) is null)
        {
            throw new UsageException("--tls-key and --tls-ca go with --tls-cert");
        }
    }

    public TlsFiles Tls(ParseResult result) =>
        new(result.GetValue(TlsCertificate), result.GetValue(TlsKey), result.GetValue(TlsAuthority));

    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="root"/>. Help (<c>--help</c>,
    /// <c>-h</c>, or the word <c>help</c> first) is written to <paramref name="output"/> and
    /// answered with null; anything the parser refuses throws a <see cref="UsageException"/>
    /// with every problem, in the parser's words except for tokens it does not know.
    /// </summary>
    public static ParseResult? Parse(RootCommand root, string[] args, TextWriter output)
    {
        if (args is ["help", .. var rest])
        {
            args = [.. rest, "--help"];
        }

        var result = root.Parse(args);
        if (result.Action is HelpAction)
        {
            result.Invoke(new InvocationConfiguration { Output = output });
            return null;
        }

        var problems = new List<string>();
        foreach (var token in result.UnmatchedTokens)
        {
            problems.Add(token.StartsWith('-') && token.Length > 1
                ? $"unknown option '{token}' for '{result.CommandResult.Command.Name}'"
                : $"unexpected argument '{token}'");
        }

        foreach (var error in result.Errors)
        {
            if (!result.UnmatchedTokens.Any(t => error.Message.Contains($"'{t}'", StringComparison.Ordinal)))
            {
                problems.Add(error.Message);
            }
        }

        if (problems.Count > 0)
        {
            throw new UsageException(string.Join("\n", problems.Distinct()), result.CommandResult.Command);
        }

        return result;
    }

    /// <summary>The generated help of <paramref name="command"/>, as text.</summary>
    public static string HelpOf(RootCommand root, Command command)
    {
        var path = new List<string>();
        for (Command? c = command; c is not null && c != root; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            path.Insert(0, c.Name);
        }

        using var text = new StringWriter();
        root.Parse([.. path, "--help"]).Invoke(new InvocationConfiguration { Output = text });
        return text.ToString().TrimEnd();
    }
}

/// <summary>A command line that cannot be used: exit 2, with the problem and the command's help.</summary>
public sealed class UsageException(string message, Command? command = null) : Exception(message)
{
    /// <summary>The command whose help should follow the message (null: the root's).</summary>
    public Command? Command { get; } = command;
}
