using Aggregator.Storage;
using Hosting;

namespace Aggregator.Tests;

/// <summary>The lease's settings and names, and a database out of reach: no PostgreSQL server needed.</summary>
public sealed class LeaseSettingsSpecs
{
    private static readonly TimeSpan Time = TimeSpan.FromSeconds(3);
    private readonly List<string> _waits = [];

    [Fact]
    public async Task A_database_out_of_reach_should_stop_the_start_with_its_reason()
    {
        var connection = $"Host=127.0.0.1;Port={Specs.FreePort()};Username=nobody;Database=none;Timeout=2";

        var refused = await Assert.ThrowsAsync<StartupException>(() => DatabaseLease.TakeAsync(connection, DatabaseLease.WholeDatabase,
            new LeaseClaimant("machine-a/127.0.0.1:25520", 1), Time, _waits.Add, CancellationToken.None));

        Assert.StartsWith("cannot take the PostgreSQL database's lease: ", refused.Message);
        Assert.Empty(_waits);
    }

    [Theory]
    [InlineData("500ms", "500 ms is too short: at least 1s")]
    [InlineData("soon", "'soon' is not a duration")]
    public void A_lease_time_under_a_second_or_not_a_duration_should_be_refused(string value, string message)
    {
        var path = Path.Combine(Path.GetTempPath(), $"lease-{Guid.NewGuid():N}.hocon");
        File.WriteAllText(path, $"actors.aggregator.database-lease = {value}\n");
        try
        {
            var refused = Assert.Throws<ConfigurationException>(() => DatabaseLease.TimeFrom(HoconFile.Load(path, "aggregator.hocon")));

            Assert.Contains("actors.aggregator.database-lease", refused.Message);
            Assert.Contains(message, refused.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_shipped_lease_time_should_be_15_s() =>
        Assert.Equal(TimeSpan.FromSeconds(15), DatabaseLease.TimeFrom(HoconFile.Shipped("aggregator.hocon")));

    [Fact]
    public void A_claimant_should_be_named_by_its_machine_and_the_address_it_has_bound()
    {
        var claimant = LeaseClaimant.Of("127.0.0.1", 25520, LeaseRole.ClusterNode);

        Assert.Equal($"{Environment.MachineName}/127.0.0.1:25520", claimant.Name);
        Assert.Equal(Environment.ProcessId, claimant.ProcessId);
        Assert.Equal($"cluster-node {claimant.Name}", claimant.Key(DatabaseLease.WholeDatabase));
        Assert.Equal("lone-aggregator", (claimant with { Role = LeaseRole.LoneAggregator }).Key(DatabaseLease.WholeDatabase));
    }
}
