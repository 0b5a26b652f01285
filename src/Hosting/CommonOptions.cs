using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Globalization;
using System.Numerics;

namespace Hosting;

/// <summary>
/// What both command lines share, defined once (System.CommandLine): the root command with
/// the options both executables take (the configuration file and the TLS files), which apply
/// to every subcommand, before or after its name; the parse into a <see cref="UsageException"/>
/// or help; number options; and how a program reports what ended it, with which exit code.
/// </summary>
public sealed class CommonOptions
{
    private readonly string _program;

    /// <param name="program">the executable's name, at the start of each line it writes to stderr.</param>
    /// <param name="description">the root command's description, at the top of the help.</param>
    public CommonOptions(string program, string description)
    {
        _program = program;
        Root = new RootCommand(description) { Config, TlsCertificate, TlsKey, TlsAuthority };
    }

    /// <summary>The root command: each executable adds its own options and subcommands.</summary>
    public RootCommand Root { get; }

    public Option<string?> Config { get; } =
        Text("--config", "FILE", "HOCON file with the settings to change (default: the .hocon file next to the executable)", recursive: true);

    public Option<string?> TlsCertificate { get; } = Text("--tls-cert", "FILE",
        "mutual TLS: this process's certificate (PEM with --tls-key, or PKCS#12 with its password in $ACTORS_TLS_PASSWORD)", recursive: true);

    public Option<string?> TlsKey { get; } = Text("--tls-key", "FILE", "the PEM private key of --tls-cert", recursive: true);

    public Option<string?> TlsAuthority { get; } =
        Text("--tls-ca", "FILE", "the certificate authority (PEM) whose certificates are trusted", recursive: true);

    public TlsFiles Tls(ParseResult result) =>
        new(result.GetValue(TlsCertificate), result.GetValue(TlsKey), result.GetValue(TlsAuthority));

    /// <summary>
    /// Parses <paramref name="args"/>. Help (<c>--help</c>, <c>-h</c>, or the word <c>help</c>
    /// first) and the version (<c>--version</c>) are written to <paramref name="output"/> and
    /// answered with null; anything the
    /// parser refuses, and a TLS key or CA without a certificate, throws a
    /// <see cref="UsageException"/> with every problem, in the parser's words except for
    /// tokens it does not know.
    /// </summary>
    public ParseResult? Parse(string[] args, TextWriter output)
    {
        if (args is ["help", .. var rest])
        {
            args = [.. rest, "--help"];
        }

        var result = Root.Parse(args);
        if (result.Action is HelpAction)
        {
            result.Invoke(new InvocationConfiguration { Output = output });
            return null;
        }

        if (args is ["--version"])
        {
            output.WriteLine(ProductInfo.Version);
            return null;
        }

        var unknown = result.UnmatchedTokens.Select(token => token.StartsWith('-') && token.Length > 1
            ? $"unknown option '{token}' for '{result.CommandResult.Command.Name}'"
            : $"unexpected argument '{token}'");
        var problems = unknown.Concat(result.Errors.Select(error => error.Message)
            .Where(message => !result.UnmatchedTokens.Any(token => message.Contains($"'{token}'", StringComparison.Ordinal))))
            .Distinct().ToList();
        if (problems.Count > 0)
        {
            throw new UsageException(string.Join("\n", problems), result.CommandResult.Command);
        }

        if ((result.GetResult(TlsKey) is not null || result.GetResult(TlsAuthority) is not null) && result.GetResult(TlsCertificate) is null)
        {
            throw new UsageException("--tls-key and --tls-ca go with --tls-cert");
        }

        return result;
    }

    /// <summary>The generated help of <paramref name="command"/> (a subcommand of the root, or the root).</summary>
    private string Help(Command? command = null)
    {
        using var text = new StringWriter();
        Root.Parse(command is null || command == Root ? ["--help"] : [command.Name, "--help"])
            .Invoke(new InvocationConfiguration { Output = text });
        return text.ToString().TrimEnd();
    }

    /// <summary>
    /// Writes to stderr, after the program's name, why the program ends, and answers its exit
    /// code: <paramref name="own"/> for the program's own exceptions; bad usage (followed by the
    /// command's help) and a configuration error exit 2; anything else exits 1.
    /// </summary>
    public Task<int> FailAsync(Exception e, (int Exit, string Message)? own = null)
    {
        var (exit, message) = own ?? e switch
        {
            UsageException usage => (ExitCodes.Usage,
                $"{usage.Message.Replace("\n", $"\n{_program}: ", StringComparison.Ordinal)}\n\n{Help(usage.Command)}"),
            ConfigurationException => (ExitCodes.Usage, $"configuration error: {e.Message}"),
            _ => (ExitCodes.Failure, $"failed: {e.GetBaseException().Message}"),
        };
        return ExitAsync(exit, message);
    }

    /// <summary>Writes <paramref name="message"/> to stderr after the program's name, and answers <paramref name="exit"/>.</summary>
    public async Task<int> ExitAsync(int exit, string message)
    {
        await Console.Error.WriteLineAsync($"{_program}: {message}");
        return exit;
    }

    /// <summary>An option that takes one text, called <paramref name="helpName"/> in the help.</summary>
    public static Option<string?> Text(string name, string helpName, string description, bool recursive = false) =>
        new(name) { Description = description, HelpName = helpName, Recursive = recursive };

    /// <summary>
    /// An option that takes a number from <paramref name="min"/> to <paramref name="max"/>,
    /// written in <paramref name="style"/>: any other text is refused as not <paramref name="what"/>,
    /// a number below <paramref name="min"/> with <paramref name="tooSmall"/> when given.
    /// </summary>
    public static Option<T?> Number<T>(string name, string helpName, string description, T min, T max, string what,
        string? tooSmall = null, NumberStyles style = NumberStyles.None) where T : struct, INumber<T> => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            var parsed = T.TryParse(text, style, CultureInfo.InvariantCulture, out var number);
            if (parsed && number >= min && number <= max)
            {
                return number;
            }

            result.AddError(parsed && number < min && tooSmall is not null ? tooSmall : $"{name} '{text}' is not {what}");
            return null;
        },
    };
}

/// <summary>A command line that cannot be used: exit 2, with the problem and the command's help.</summary>
public sealed class UsageException(string message, Command? command = null) : Exception(message)
{
    /// <summary>The command whose help should follow the message (null: the root's).</summary>
    public Command? Command { get; } = command;
}
