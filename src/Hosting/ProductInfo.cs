using System.Reflection;

namespace Hosting;

/// <summary>The product's one version (Directory.Build.props), the same in every assembly of it.</summary>
public static class ProductInfo
{
    public static string Version { get; } =
        typeof(ProductInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
