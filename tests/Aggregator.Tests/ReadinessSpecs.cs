using Aggregator.Service;
using Akka.Cluster;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aggregator.Tests;

/// <summary>
/// What <c>/health/ready</c> answers for the aggregator itself (<see cref="Readiness"/>): from
/// the ready line's moment, while the node is a member, even when the cluster's read view has
/// not caught up with this node's own MemberUp yet.
/// </summary>
public sealed class ReadinessSpecs
{
    [Theory]
    [InlineData(null)]
    [InlineData(MemberStatus.Joining)]
    [InlineData(MemberStatus.Up)]
    public void Before_the_ready_line_the_aggregator_is_not_ready(MemberStatus? status) =>
        Assert.Equal(HealthStatus.Unhealthy, Readiness.Of(accepting: false, status).Status);

    [Fact]
    public void A_single_node_is_ready_from_the_ready_line() =>
        Assert.Equal((HealthStatus.Healthy, "listening"), Answer(Readiness.Of(accepting: true, status: null)));

    [Theory]
    [InlineData(MemberStatus.Up)]
    [InlineData(MemberStatus.WeaklyUp)]
    [InlineData(MemberStatus.Joining)] // the read view behind the MemberUp that printed the line
    public void A_cluster_node_is_ready_from_its_MemberUp_whatever_the_read_view_shows_so_far(MemberStatus status) =>
        Assert.Equal((HealthStatus.Healthy, "listening, an Up member of the cluster"), Answer(Readiness.Of(accepting: true, status)));

    [Theory]
    [InlineData(MemberStatus.Leaving)]
    [InlineData(MemberStatus.Exiting)]
    [InlineData(MemberStatus.Down)]
    [InlineData(MemberStatus.Removed)]
    public void A_cluster_node_that_leaves_or_is_downed_is_no_longer_ready(MemberStatus status) =>
        Assert.Equal((HealthStatus.Unhealthy, $"no longer an Up member of the cluster ({status})"), Answer(Readiness.Of(accepting: true, status)));

    private static (HealthStatus, string?) Answer(HealthCheckResult result) => (result.Status, result.Description);
}
