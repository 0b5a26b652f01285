namespace Hosting;

/// <summary>
/// A strict syntax check of a HOCON text, run before Akka's parser sees it. Akka's parser
/// accepts a stray line as an empty key and never returns on an unclosed array, so without
/// this a typo in a config file would be silently ignored or hang the process. The check
/// covers structure (braces, brackets, strings, key-separator-value), not meaning.
/// </summary>
public sealed class HoconSyntax
{
    private readonly string _s;
    private int _i;
    private int _line = 1;

    private HoconSyntax(string text) => _s = text;

    /// <summary>Null when the text is well-formed, else the line and the problem.</summary>
    public static (int Line, string Message)? Check(string text)
    {
        var parser = new HoconSyntax(text);
        try
        {
            parser.SkipBlank();
            if (parser.Peek() == '{')
            {
                var line = parser._line;
                parser._i++;
                parser.ObjectBody('}', line);
                parser.SkipBlank();
                if (!parser.AtEnd)
                {
                    parser.Fail($"unexpected '{parser.Peek()}' after the closing '}}'");
                }
            }
            else
            {
                parser.ObjectBody('\0', 1);
            }

            return null;
        }
        catch (SyntaxError e)
        {
            return (e.Line, e.Message);
        }
    }

    private bool AtEnd => _i >= _s.Length;

    private char Peek(int ahead = 0) => _i + ahead < _s.Length ? _s[_i + ahead] : '\0';

    private void Fail(string message, int? line = null) => throw new SyntaxError(line ?? _line, message);

    private void ObjectBody(char close, int openLine)
    {
        while (true)
        {
            SkipBlank(commas: true);
            if (AtEnd)
            {
                if (close != '\0')
                {
                    Fail($"'{{' opened on line {openLine} is never closed", openLine);
                }

                return;
            }

            var c = Peek();
            if (c == close)
            {
                _i++;
                return;
            }

            if (c is '}' or ']')
            {
                Fail($"unexpected '{c}'");
            }

            if (IsWordAt("include"))
            {
                _i += "include".Length;
                SkipSpaces();
                Value("include");
                EndOfField();
                continue;
            }

            var key = Key();
            SkipSpaces();
            if (Peek() == '{')
            {
                var line = _line;
                _i++;
                ObjectBody('}', line);
                EndOfField();
                continue;
            }

            if (Peek() is '=' or ':')
            {
                _i++;
            }
            else if (Peek() == '+' && Peek(1) == '=')
            {
                _i += 2;
            }
            else
            {
                Fail(AtEnd || Peek() is '\n' or '\r'
                    ? $"'{key}' has no '=' or ':' and no value"
                    : $"expected '=', ':' or '{{' after '{key}', found '{Peek()}'");
            }

            SkipSpaces();
            Value(key);
            EndOfField();
        }
    }

    private void EndOfField()
    {
        SkipSpaces();
        if (AtEnd || Peek() is '\n' or '\r' or ',' or '}' or ']' or '#' || (Peek() == '/' && Peek(1) == '/'))
        {
            return;
        }

        Fail($"unexpected '{Peek()}'");
    }

    private string Key()
    {
        var start = _i;
        while (!AtEnd)
        {
            var c = Peek();
            if (c == '"')
            {
                QuotedString();
                continue;
            }

            if (char.IsWhiteSpace(c) || c is '=' or ':' or '{' or '}' or '[' or ']' or ',' or '#' or '$'
                || (c == '+' && Peek(1) == '=') || (c == '/' && Peek(1) == '/'))
            {
                break;
            }

            _i++;
        }

        if (_i == start)
        {
            Fail($"unexpected '{Peek()}' where a key should be");
        }

        return _s[start.._i];
    }

    private void Value(string key)
    {
        var any = false;
        while (!AtEnd)
        {
            var c = Peek();
            if (c is '\n' or '\r' or ',' or '}' or ']' or '#' || (c == '/' && Peek(1) == '/'))
            {
                break;
            }

            any = true;
            if (c == '{')
            {
                var line = _line;
                _i++;
                ObjectBody('}', line);
            }
            else if (c == '[')
            {
                var line = _line;
                _i++;
                Array(line);
            }
            else if (c == '"')
            {
                QuotedString();
            }
            else if (c == '$' && Peek(1) == '{')
            {
                var line = _line;
                while (!AtEnd && Peek() != '}' && Peek() != '\n')
                {
                    _i++;
                }

                if (Peek() != '}')
                {
                    Fail("'${' is never closed", line);
                }

                _i++;
            }
            else
            {
                while (!AtEnd)
                {
                    c = Peek();
                    if (char.IsWhiteSpace(c) || c is ',' or '}' or ']' or '#' or '"' or '{' or '['
                        || (c == '/' && Peek(1) == '/') || (c == '$' && Peek(1) == '{'))
                    {
                        break;
                    }

                    _i++;
                }
            }

            SkipSpaces();
        }

        if (!any)
        {
            Fail($"'{key}' has no value");
        }
    }

    private void Array(int openLine)
    {
        while (true)
        {
            SkipBlank(commas: true);
            if (AtEnd)
            {
                Fail($"'[' opened on line {openLine} is never closed", openLine);
            }

            var c = Peek();
            if (c == ']')
            {
                _i++;
                return;
            }

            if (c == '}')
            {
                Fail($"'[' opened on line {openLine} is not closed before this '}}'");
            }

            Value("array element");
        }
    }

    private void QuotedString()
    {
        var line = _line;
        if (Peek(1) == '"' && Peek(2) == '"')
        {
            _i += 3;
            while (!AtEnd && !(Peek() == '"' && Peek(1) == '"' && Peek(2) == '"'))
            {
                if (Peek() == '\n')
                {
                    _line++;
                }

                _i++;
            }

            if (AtEnd)
            {
                Fail("'\"\"\"' string is never closed", line);
            }

            while (Peek() == '"')
            {
                _i++;
            }

            return;
        }

        _i++;
        while (!AtEnd && Peek() != '"')
        {
            if (Peek() == '\n')
            {
                Fail("string is not closed on its line", line);
            }

            _i += Peek() == '\\' ? 2 : 1;
        }

        if (AtEnd)
        {
            Fail("string is never closed", line);
        }

        _i++;
    }

    private bool IsWordAt(string word) =>
        string.CompareOrdinal(_s, _i, word, 0, word.Length) == 0
        && _i + word.Length < _s.Length && _s[_i + word.Length] is ' ' or '\t';

    private void SkipSpaces()
    {
        while (!AtEnd && Peek() is ' ' or '\t' or '\uFEFF')
        {
            _i++;
        }
    }

    private void SkipBlank(bool commas = false)
    {
        while (!AtEnd)
        {
            var c = Peek();
            if (c == '\n')
            {
                _line++;
                _i++;
            }
            else if (char.IsWhiteSpace(c) || c == '\uFEFF' || (commas && c == ','))
            {
                _i++;
            }
            else if (c == '#' || (c == '/' && Peek(1) == '/'))
            {
                while (!AtEnd && Peek() != '\n')
                {
                    _i++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private sealed class SyntaxError(int line, string message) : Exception(message)
    {
        public int Line { get; } = line;
    }
}
