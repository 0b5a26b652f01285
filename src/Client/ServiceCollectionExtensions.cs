using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actors.Client;

/// <summary>Registers one shared <see cref="AggregatorClient"/> with dependency injection.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>The configuration section the options are bound from by default.</summary>
    public const string Section = "Aggregator";

    /// <summary>
    /// Registers a singleton <see cref="AggregatorClient"/> (it connects on first use; the container
    /// disposes it), its options bound from <paramref name="configuration"/> (for example the
    /// <c>Aggregator</c> section: <c>Contacts</c>, <c>ConnectTimeout</c>, …) and then
    /// <paramref name="configure"/>. Without contacts, <c>$ACTORS_AGGREGATOR</c>, else 127.0.0.1:25520.
    /// The application's <see cref="ILoggerFactory"/>, if registered, gets the client's log.
    /// </summary>
    public static IServiceCollection AddAggregatorClient(this IServiceCollection services, IConfiguration? configuration = null,
        Action<AggregatorClientOptions>? configure = null)
    {
        var options = services.AddOptions<AggregatorClientOptions>();
        if (configuration is not null)
        {
            options.Bind(configuration);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(provider =>
        {
            var settings = provider.GetRequiredService<IOptions<AggregatorClientOptions>>().Value;
            settings.LoggerFactory ??= provider.GetService<ILoggerFactory>();
            return AggregatorClient.Create(settings);
        });
        return services;
    }

    /// <summary>The same, configured in code only.</summary>
    public static IServiceCollection AddAggregatorClient(this IServiceCollection services, Action<AggregatorClientOptions> configure) =>
        services.AddAggregatorClient(configuration: null, configure);
}
