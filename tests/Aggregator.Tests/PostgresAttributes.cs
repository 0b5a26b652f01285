namespace Aggregator.Tests;

/// <summary>A theory that needs a PostgreSQL server: skipped, saying how to run it, when none is given.</summary>
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public const string Variable = "ACTORS_TEST_POSTGRES";

    public PostgresTheoryAttribute()
    {
        if (Shared is null)
        {
            Skip = SkipReason;
        }
    }

    public static string SkipReason =>
        $"no PostgreSQL server: set {Variable} to an Npgsql connection string; to run it: {Variable}=$(.ci/postgres start /tmp/actors-pg 54329) dotnet test (.ci/run does)";

    /// <summary>
    /// The server's database in a schema of these specs' own: the end-to-end tests' aggregators,
    /// running at the same time on the same database, load every list they find there.
    /// </summary>
    public static string? ConnectionString => Isolated.Value;

    /// <summary>A server is given (without connecting to it: attributes are made at discovery).</summary>
    public static bool Configured => Shared is not null;

    private static string? Shared => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value ? value : null;

    private static readonly Lazy<string?> Isolated = new(() =>
    {
        if (Shared is not { } shared)
        {
            return null;
        }

        const string schema = "aggregator_specs";
        using (var connection = new Npgsql.NpgsqlConnection(shared))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"CREATE SCHEMA IF NOT EXISTS {schema}";
            command.ExecuteNonQuery();
        }

        return new Npgsql.NpgsqlConnectionStringBuilder(shared) { SearchPath = schema }.ToString();
    });
}

/// <summary>A fact that needs a PostgreSQL server: skipped, saying how to run it, when none is given.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!PostgresTheoryAttribute.Configured)
        {
            Skip = PostgresTheoryAttribute.SkipReason;
        }
    }

    public static string? ConnectionString => PostgresTheoryAttribute.ConnectionString;
}
