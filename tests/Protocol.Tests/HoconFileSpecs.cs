using Protocol;

namespace Protocol.Tests;

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
        var problem = HoconSyntax.Check(text);

        Assert.NotNull(problem);
        Assert.Equal(line, problem.Value.Line);
        Assert.Contains(message, problem.Value.Message);
    }

    [Theory]
    [InlineData("aggregator.hocon")]
    [InlineData("worker.hocon")]
    public void HoconSyntax_should_accept_the_shipped_configuration(string name)
    {
        var path = Path.Combine(RepositoryRoot(), "config", name);

        Assert.Null(HoconSyntax.Check(File.ReadAllText(path)));
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
            i += 4
            j = \"\"\"multi
            line\"\"\"
            k = foo bar baz
            l {
              m = on
            }
            """.Replace("\\\"", "\"");

        Assert.Null(HoconSyntax.Check(text));
    }

    [Fact]
    public void HoconFile_should_report_a_malformed_file_with_its_path_and_line()
    {
        var path = Write("bad.hocon", "actors {\n  x = 1\n  oops\n}\n");

        var error = Assert.Throws<ConfigurationException>(() => HoconFile.Load(path));

        Assert.Equal(path, error.File);
        Assert.Equal(3, error.Line);
        Assert.StartsWith($"{path}:3: ", error.Message);
    }

    [Fact]
    public void HoconFile_should_report_a_missing_file()
    {
        var path = Path.Combine(_directory, "absent.hocon");

        var error = Assert.Throws<ConfigurationException>(() => HoconFile.Load(path));

        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void HoconFile_should_put_overrides_in_front_of_the_file_and_the_serializer_behind_it()
    {
        var path = Write("ok.hocon", "akka.remote.dot-netty.tcp.port = 25520\nactors.x = 1\n");

        var file = HoconFile.Load(path, [new("akka.remote.dot-netty.tcp.port", "0")]);

        Assert.Equal(0, file.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(1, file.GetInt("actors.x"));
        Assert.Equal("actors-protocol", file.Config.GetString("akka.actor.serialization-bindings.\"Protocol.Messages.AppendBatch, Protocol\""));
    }

    [Fact]
    public void HoconFile_should_name_the_key_and_line_of_a_value_of_the_wrong_kind()
    {
        var path = Write("kind.hocon", "actors {\n  limit = lots\n}\n");
        var file = HoconFile.Load(path);

        var error = Assert.Throws<ConfigurationException>(() => file.GetInt("actors.limit"));

        Assert.Equal("actors.limit", error.Key);
        Assert.Equal(2, error.Line);
        Assert.Contains("'lots' is not a whole number", error.Message);
    }

    [Fact]
    public void HoconFile_should_quote_override_values_so_they_cannot_add_keys()
    {
        var path = Write("inject.hocon", "a = 1\n");

        var file = HoconFile.Load(path, [new("a", "2\nb = 3")]);

        Assert.Equal("2\nb = 3", file.GetString("a"));
        Assert.False(file.Config.HasPath("b"));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Actors.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Actors.sln not found above the test binaries");
    }
}
