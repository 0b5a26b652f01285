using Akka.Cluster;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aggregator.Service;

/// <summary>
/// What <c>/health/ready</c> answers for the aggregator itself (the journal has its own
/// check): ready from the ready line's moment (the host started; in a cluster, this node's own
/// MemberUp arrived) while the node is still a member.
/// </summary>
public static class Readiness
{
    /// <param name="accepting">The ready line's moment has come (set by the same callback that prints it).</param>
    /// <param name="status">This node's status in the cluster's read view; null on a single node.</param>
    /// <remarks>
    /// The read view is kept by another actor than the one that runs the MemberUp callback: it
    /// can still show Joining a moment after the MemberUp (seen on a loaded machine, where
    /// readiness answered 503 just after the ready line). Joining after the MemberUp is Up.
    /// </remarks>
    public static HealthCheckResult Of(bool accepting, MemberStatus? status)
    {
        if (!accepting)
        {
            return HealthCheckResult.Unhealthy(status is null ? "not accepting workers yet"
                : status == MemberStatus.Up ? "not accepting workers yet (an Up member; the ready line follows at once)"
                : $"not an Up member of the cluster ({status})");
        }

        return status switch
        {
            null => HealthCheckResult.Healthy("listening"),
            MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining => HealthCheckResult.Healthy("listening, an Up member of the cluster"),
            _ => HealthCheckResult.Unhealthy($"no longer an Up member of the cluster ({status})"),
        };
    }
}
