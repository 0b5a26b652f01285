using System.Reflection;
using System.Text.RegularExpressions;
using Akka.Configuration;

namespace Hosting.Tests;

public sealed class HoconFileSpecs : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("hocon-specs").FullName;

    public static TheoryData<string, int, string> Malformed() => new()
    {
        { "a {\n  b = 1\n  c = [1, 2\n}\n", 4, "'[' opened on line 3 is not closed before this '}'" },
        { "a = [1, 2\n", 1, "'[' opened on line 1 is never closed" },
        { "a {\n  b = 1\n", 1, "'{' opened on line 1 is never closed" },
        { "a.b = 1\nthis is not hocon\n", 2, "expected '=', ':' or '{' after 'this'" },
        { "a.b = 1\n}\n", 2, "unexpected '}'" },
        { "a.b = \"open\n", 1, "string is not closed on its line" },
        { "a.b = 1\na.c =\n", 2, "'a.c' has no value" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void HoconSyntax_should_name_the_line_of_a_malformed_file(string text, int line, string message)
    {
        var problem = Assert.Throws<ConfigurationException>(() => HoconSyntax.Check(text, "test.hocon"));

        Assert.Equal(line, problem.Line);
        Assert.Contains(message, problem.Message);
    }

    /// <summary>
    /// What Akka's parser takes and gets wrong, refused with the line. Each of these, given to
    /// Akka's parser, leaves a key unreadable or builds an endless value (the aggregator then
    /// spun a core growing memory, or died of a stack overflow); the samples are not run
    /// through Akka's parser here for that reason.
    /// </summary>
    public static TheoryData<string, int, string> Misread() => new()
    {
        { "a.b = 1\na.c = ${?NO_SUCH_VARIABLE}\n", 2, "'${?NO_SUCH_VARIABLE}': optional substitutions are not supported" },
        { "a { b = \"x\"${?HOME} }\n", 1, "'${?HOME}': optional substitutions are not supported" },
        { "a.b = [1]\na.b += 2\n", 2, "'+=' is not supported (Akka.NET's HOCON drops it): give 'a.b' its whole array" },
        { "a.b = ${NO_SUCH_VARIABLE}\n", 1, "'${NO_SUCH_VARIABLE}' names no setting of this file" },
        { "a.b = ${akka.loglevel}\n", 1, "'${akka.loglevel}' names no setting of this file" },
        { "a.b = 1\na.b = ${a.b} 2\n", 2, "'${a.b}' refers back to its own setting ('a.b' -> 'a.b')" },
        { "a { b = 1 }\na.c = ${a}\n", 2, "'${a}' refers back to its own setting ('a.c' -> 'a.c')" },
        { "x = 1\na {\n  b = ${a.c}\n  c = [${x}, ${a.b}]\n}\n", 4, "'${a.b}' refers back to its own setting ('a.b' -> 'a.c' -> 'a.b')" },
    };

    [Theory]
    [MemberData(nameof(Misread))]
    public void HoconSyntax_should_refuse_what_akkas_parser_misreads_naming_the_line(string text, int line, string message)
    {
        var problem = Assert.Throws<ConfigurationException>(() => HoconSyntax.Check(text, "test.hocon"));

        Assert.Equal(line, problem.Line);
        Assert.Contains(message, problem.Message);
    }

    [Theory]
    [InlineData("aggregator.hocon")]
    [InlineData("worker.hocon")]
    public void HoconSyntax_should_accept_the_shipped_configuration(string name)
    {
        var path = Path.Combine(RepositoryRoot(), "config", name);

        HoconSyntax.Check(File.ReadAllText(path), path);
    }

    [Fact]
    public void HoconSyntax_should_accept_the_forms_hocon_allows()
    {
        var text = """
            # comment
            // another
            a { b = 1, c : "two" }
            a.d = [1, 2, { e = 3 }]
            "quoted.key" = yes
            f = ${a.b}
            g = 10s
            h = akka.tcp://system@host:1 // a comment after a value
            i = [${a.b}, ${a.d}]
            n { o = 1 }
            p = ${n}
            q = ${n.o} and more
            j = \"\"\"multi
            line\"\"\"
            k = foo bar baz
            l {
              m = on
            }
            """.Replace("\\\"", "\"");

        HoconSyntax.Check(text, "forms.hocon");

        // Akka's parser reads the substitutions the checker lets through.
        const string Substitutions = "a { b = 1 }\nn { o = 1 }\np = ${n}\nq = ${n.o} and more\ni = [${a.b}, 2]\n";
        HoconSyntax.Check(Substitutions, "substitutions.hocon");
        var config = ConfigurationFactory.ParseString(Substitutions);
        Assert.Equal("1", config.GetString("p.o"));
        Assert.Equal("1 and more", config.GetString("q"));
        Assert.Equal(["1", "2"], config.GetStringList("i"));
    }

    [Fact]
    public void HoconFile_should_report_a_malformed_file_with_its_path_and_line()
    {
        var path = Write("bad.hocon", "actors {\n  x = 1\n  oops\n}\n");

        var error = Assert.Throws<ConfigurationException>(() => HoconFile.Load(path, "worker.hocon"));

        Assert.Equal(path, error.File);
        Assert.Equal(3, error.Line);
        Assert.StartsWith($"{path}:3: ", error.Message);
    }

    [Fact]
    public void HoconFile_should_report_a_missing_file()
    {
        var path = Path.Combine(_directory, "absent.hocon");

        var error = Assert.Throws<ConfigurationException>(() => HoconFile.Load(path, "worker.hocon"));

        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void HoconFile_should_take_what_a_file_does_not_set_from_the_shipped_file()
    {
        var path = Write("one.hocon", "actors.worker.max-in-flight = 3\n");

        var file = HoconFile.Load(path, "worker.hocon");

        Assert.Equal(3, file.GetInt("actors.worker.max-in-flight"));
        Assert.Equal(TimeSpan.FromSeconds(1), file.GetTimeSpan("actors.worker.ack-timeout"));
        Assert.Equal("127.0.0.1", file.GetString("akka.remote.dot-netty.tcp.hostname"));
    }

    [Fact]
    public void HoconFile_should_refuse_an_unknown_key_under_actors_naming_its_line_and_the_nearest_known_key()
    {
        var path = Write("typo.hocon", "actors.worker {\n  max-in-flight = 3\n  ack-timout = 5s\n}\n");

        var error = Assert.Throws<ConfigurationException>(() => HoconFile.Load(path, "worker.hocon"));

        Assert.Equal(("actors.worker.ack-timout", 3), (error.Key, error.Line));
        Assert.Contains("unknown key; did you mean 'actors.worker.ack-timeout'?", error.Message);
    }

    [Theory]
    [InlineData("actors.cluster {\n  port = lots\n}\nakka.remote.dot-netty.tcp {\n  port = 25520\n}\n", "actors.cluster.port", 2)]
    [InlineData("akka.remote.dot-netty.tcp {\n  port = 25520\n}\nactors.cluster {\n  port = lots\n}\n", "actors.cluster.port", 5)]
    [InlineData("actors {\n  # port = 1\n  cluster {\n    hostname = \"h{\", port = lots\n  }\n}\n", "actors.cluster.port", 4)]
    [InlineData("actors.cluster { shards = 10, port = lots }\nakka.cluster.roles = [\"a\", \"b\"]\nport = 1\n", "actors.cluster.port", 1)]
    [InlineData("actors.cluster.port = lots\n", "actors.cluster.port", 1)]
    public void HoconFile_should_name_the_line_of_the_key_in_its_block_not_of_a_key_of_the_same_name_in_another(string text, string key, int line)
    {
        var file = HoconFile.Load(Write("blocks.hocon", text), "aggregator.hocon");

        var error = Assert.Throws<ConfigurationException>(() => file.GetInt(key));

        Assert.Equal((key, line), (error.Key, error.Line));
    }

    [Fact]
    public void HoconFile_should_name_the_key_and_line_of_a_value_of_the_wrong_kind()
    {
        var path = Write("kind.hocon", "actors.worker {\n  max-in-flight = lots\n}\n");
        var file = HoconFile.Load(path, "worker.hocon");

        var error = Assert.Throws<ConfigurationException>(() => file.GetInt("actors.worker.max-in-flight"));

        Assert.Equal("actors.worker.max-in-flight", error.Key);
        Assert.Equal(2, error.Line);
        Assert.Contains("'lots' is not a whole number", error.Message);
    }

    /// <summary>
    /// Why <see cref="HoconSyntax"/> exists: Akka's parser (1.5.74) takes each of these
    /// malformed texts without a word, so a typo would be silently ignored. When this spec
    /// fails, Akka's parser refuses them itself and the checker can go. (The first sample,
    /// an array left open inside a block, is worse: the parser never returns, spinning a
    /// core and growing memory, so it is not run in this process.)
    /// </summary>
    [Theory]
    [MemberData(nameof(AcceptedByAkka))]
    public async Task Akkas_hocon_parser_should_still_accept_malformed_text_that_the_checker_refuses(string text)
    {
        var parse = Task.Run(() => ConfigurationFactory.ParseString(text));

        await Task.WhenAny(parse, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(parse.IsCompleted, "the parser did not return");
        Assert.True(parse.IsCompletedSuccessfully, "Akka's parser refuses this text now: HoconSyntax may go");
    }

    public static TheoryData<string> AcceptedByAkka() => new(Malformed().Skip(1).Select(row => (string)row[0]));

    /// <summary>The README's configuration table says what the shipped files say: every key, every default.</summary>
    [Fact]
    public void Readme_configuration_table_should_match_the_shipped_files()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var rows = Regex.Matches(readme, @"^\| `(?<key>(?:actors|akka)\.[a-z.-]+)` \| `(?<value>[^`]*)` \|", RegexOptions.Multiline);
        var documented = rows.ToDictionary(r => r.Groups["key"].Value, r => r.Groups["value"].Value);
        var aggregator = HoconFile.Shipped("aggregator.hocon").Config;
        var shipped = new[] { aggregator, HoconFile.Shipped("worker.hocon").Config }
            .SelectMany(config => Leaves(config, "actors"))
            .Distinct()
            .ToDictionary(l => l.Key, l => l.Value);

        Assert.Empty(shipped.Keys.Except(documented.Keys));
        Assert.All(documented, row =>
        {
            var value = row.Key.StartsWith("akka.", StringComparison.Ordinal) ? aggregator.GetString(row.Key) : shipped.GetValueOrDefault(row.Key);
            Assert.True(value == row.Value, $"README says {row.Key} = {row.Value}; the shipped files say {value ?? "nothing"}");
        });
    }

    private static IEnumerable<KeyValuePair<string, string>> Leaves(Config config, string root) =>
        HoconFile.KeysUnder(config, root).Select(key =>
        {
            var value = config.GetValue(key);
            // Akka reads an empty array as neither an array nor a string.
            var text = value.IsArray() ? $"[{string.Join(", ", value.GetArray().Select(v => v.GetString()))}]" : value.GetString() ?? "[]";
            return KeyValuePair.Create(key, text.Length == 0 ? "\"\"" : text);
        });

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string RepositoryRoot() =>
        typeof(HoconFileSpecs).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
}
