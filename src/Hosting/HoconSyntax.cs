using System.Text.RegularExpressions;

namespace Hosting;

/// <summary>
/// A strict syntax check of a HOCON text, run before Akka's parser sees it. Akka's parser
/// accepts a stray line as an empty key and never returns on an unclosed array, so without
/// this a typo in a config file would be silently ignored or hang the process. The check
/// covers structure (braces, brackets, strings, key-separator-value), not meaning: the text
/// is cut into tokens, and the tokens are read as fields of objects. It also refuses what
/// Akka's parser gets wrong instead of refusing (see <see cref="HoconSubstitutions"/>):
/// <c>+=</c>, which it drops, and substitutions that are optional, name no setting of the
/// file, or refer back to themselves.
/// </summary>
public sealed partial class HoconSyntax
{
    private readonly string _path;
    private readonly List<Token> _tokens;
    private readonly HoconSubstitutions _substitutions = new();
    private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);
    private int _i;

    private HoconSyntax(string path, List<Token> tokens)
    {
        _path = path;
        _tokens = tokens;
    }

    /// <summary>
    /// Checks <paramref name="text"/>, the content of the file <paramref name="path"/>, and
    /// returns the line of the last setting of each key it sets (its path made from the
    /// blocks around it: <c>a { b { c = 1 } }</c>, <c>a.b { c = 1 }</c> and <c>a.b.c = 1</c>
    /// all set <c>a.b.c</c>), for messages about a value.
    /// </summary>
    /// <exception cref="ConfigurationException">the text is malformed: the file, the line and the problem.</exception>
    public static IReadOnlyDictionary<string, int> Check(string text, string path)
    {
        // The whole text may be one object in braces.
        var parser = new HoconSyntax(path, Tokenize(text));
        parser.Skip(commas: false);
        parser.Block(parser.Peek.Text == "{" ? parser.Next() : default, "");
        parser.Skip(commas: false);
        if (parser.Peek.Text != "")
        {
            throw parser.Fail(parser.Peek, $"unexpected '{parser.Peek.Text}' after the closing '}}'");
        }

        if (parser._substitutions.Problem() is { } problem)
        {
            throw parser.Fail(problem.At, problem.Message);
        }

        return parser._lines;
    }

    /// <summary>
    /// Blanks and comments (dropped), then one token: a triple-quoted string, a substitution,
    /// a punctuation mark or a newline, or a word (unquoted text and quoted strings with no
    /// space between them, such as <c>a."b.c"</c>); or the start of a string or substitution
    /// that is never closed (or a character that starts nothing).
    /// </summary>
    [GeneratedRegex(""""
        \G (?: [^\S\n]+ | \uFEFF | (?:\#|//)[^\n]* )*
        (?: (?<token> """[\s\S]*?"""+
                    | \$\{[^}\n]*\}
                    | \+= | [\n{}\[\],=:] | \$(?!\{)
                    | (?: [^\s{}\[\],=:\#"$+/] | \+(?!=) | /(?!/) | "(?!"")(?:\\.|[^"\\\n])*" )+ )
          | (?<open> """ | " | \$\{ | . )
          | \z )
        """", RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex Lexer();

    /// <summary>The tokens of <paramref name="text"/>, ending with an empty one (or with a string left open).</summary>
    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var line = 1;
        foreach (Match m in Lexer().Matches(text))
        {
            if (m.Groups["open"] is { Success: true } open)
            {
                tokens.Add(new(open.Value, line, open.Value switch
                {
                    "\"" => "string is not closed on its line",
                    "${" => "'${' is never closed",
                    "\"\"\"" => "'\"\"\"' string is never closed",
                    var other => $"unexpected '{other}'",
                }));
                return tokens;
            }

            if (m.Groups["token"] is { Success: true } token)
            {
                tokens.Add(new(token.Value, line));
                line += token.ValueSpan.Count('\n');
            }
        }

        tokens.Add(new("", line));
        return tokens;
    }

    /// <summary>The next token; a string left open is reported as soon as the reading reaches it.</summary>
    private Token Peek => _tokens[_i].Problem is { } problem ? throw Fail(_tokens[_i], problem) : _tokens[_i];

    private Token Next()
    {
        var token = Peek;
        _i += token.Text.Length > 0 ? 1 : 0;
        return token;
    }

    private static bool EndsValue(Token token) => token.Text is "\n" or "," or "}" or "]" or "";

    /// <summary>Text, a string or a substitution: what a key is made of.</summary>
    private static bool IsWord(Token token) => !EndsValue(token) && token.Text is not ("{" or "[" or "=" or ":" or "+=" or "$");

    private void Skip(bool commas)
    {
        while (Peek.Text == "\n" || (commas && Peek.Text == ","))
        {
            _i++;
        }
    }

    /// <summary>
    /// The fields of an object or the values of an array, up to the bracket that closes
    /// <paramref name="open"/> (default: the fields of the whole text, up to its end);
    /// <paramref name="path"/> is the object's path in the file.
    /// </summary>
    private void Block(Token open, string path)
    {
        var close = open.Text switch { "[" => "]", "{" => "}", _ => "" };
        while (true)
        {
            Skip(commas: true);
            var token = Peek;
            switch (token.Text)
            {
                case var text when text == close:
                    Next();
                    return;
                case "":
                    throw Fail(open, $"'{open.Text}' opened on line {open.Line} is never closed");
                case "}" when close == "]":
                    throw Fail(token, $"'[' opened on line {open.Line} is not closed before this '}}'");
                case "}" or "]":
                    throw Fail(token, $"unexpected '{token.Text}'");
                case var _ when close == "]":
                    Value(path, "array element");
                    break;
                default:
                    Field(path);
                    break;
            }
        }
    }

    /// <summary>A key and its value, or an object after the key, or an include.</summary>
    private void Field(string path)
    {
        var key = Next();
        if (!IsWord(key))
        {
            throw Fail(key, $"unexpected '{key.Text}' where a key should be");
        }

        var full = HoconSubstitutions.Join(path, key.Text);
        var separator = Peek;
        if (separator.Text is "=" or ":")
        {
            Next();
            _lines[full] = key.Line;
            Value(full, key.Text);
        }
        else if (separator.Text == "+=")
        {
            throw Fail(separator, $"'+=' is not supported (Akka.NET's HOCON drops it): give '{key.Text}' its whole array");
        }
        else if (separator.Text == "{")
        {
            Block(Next(), full);
            if (!EndsValue(Peek))
            {
                throw Fail(Peek, $"unexpected '{Peek.Text}'");
            }
        }
        else if (key.Text == "include" && IsWord(separator))
        {
            _substitutions.Include();
            Value(full, key.Text);
        }
        else
        {
            throw Fail(separator, separator.Text is "\n" or ""
                ? $"'{key.Text}' has no '=' or ':' and no value"
                : $"expected '=', ':' or '{{' after '{key.Text}', found '{separator.Text}'");
        }
    }

    /// <summary>
    /// The value of the setting <paramref name="path"/> (<paramref name="key"/> as written):
    /// words, strings, substitutions, objects and arrays, up to the end of its line, a ',' or
    /// a closing bracket.
    /// </summary>
    private void Value(string path, string key)
    {
        if (EndsValue(Peek))
        {
            throw Fail(Peek, $"'{key}' has no value");
        }

        _substitutions.Set(path);
        while (!EndsValue(Peek))
        {
            var token = Next();
            if (token.Text is "{" or "[")
            {
                Block(token, token.Text == "{" ? path : path + "[]");
            }
            else if (token.Text.StartsWith("${", StringComparison.Ordinal))
            {
                if (token.Text.StartsWith("${?", StringComparison.Ordinal))
                {
                    throw Fail(token, $"'{token.Text}': optional substitutions are not supported (Akka.NET's HOCON reads no environment variable and keeps no earlier value; it leaves the key unreadable): write the value");
                }

                _substitutions.Refer(path, token);
            }
        }
    }

    private ConfigurationException Fail(Token at, string message) => new(_path, at.Line, null, message);

    /// <summary>A token and its line; <paramref name="Problem"/> when it is a string or substitution never closed.</summary>
    internal readonly record struct Token(string Text, int Line, string? Problem = null);
}
