using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aggregator.Storage;

/// <summary>
/// Readiness of the journal: the database answers a query now. Akka's own checks read the
/// persistence circuit breakers, which open only when writes fail: an idle aggregator whose
/// database has gone away would still read as ready. Bounded by <see cref="Timeout"/>.
/// </summary>
public sealed class JournalHealthCheck(JournalStorage storage) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Timeout);
        string? problem;
        try
        {
            problem = await storage.ProbeAsync(bounded.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            problem = $"the database did not answer within {Timeout.TotalSeconds:0} s";
        }

        return problem is null
            ? HealthCheckResult.Healthy("the journal's database answers")
            : HealthCheckResult.Unhealthy($"the journal's database does not answer: {problem}");
    }
}
