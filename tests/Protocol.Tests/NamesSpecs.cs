using Protocol;

namespace Protocol.Tests;

public sealed class NamesSpecs
{
    [Theory]
    [InlineData("default")]
    [InlineData("orders-2026.v1_a")]
    [InlineData("A")]
    public void Names_should_accept_letters_digits_and_inner_punctuation(string name) =>
        Assert.Null(Names.Check(name, "list name"));

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("-x", "position 1")]
    [InlineData("a/b", "'/'")]
    [InlineData("a b", "' '")]
    [InlineData("é", "'é'")]
    public void Names_should_refuse_what_a_journal_or_actor_path_cannot_hold(string name, string why) =>
        Assert.Contains(why, Names.Check(name, "list name"));

    [Fact]
    public void Names_should_refuse_names_over_the_length_limit() =>
        Assert.Contains("limit is 128", Names.Check(new string('a', 129), "list name"));
}
