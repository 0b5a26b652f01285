namespace Hosting;

/// <summary>
/// Where a process's start-up went, for docs/benchmarks.md (ACTORS_STARTUP_PROFILE=1): the
/// process's age, the JIT's share, the CPU time, and what was loaded.
/// </summary>
public static class StartupProfile
{
    public static bool Requested => Environment.GetEnvironmentVariable("ACTORS_STARTUP_PROFILE") == "1";

    public static string Describe()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        var wall = DateTime.Now - process.StartTime;
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"startup-profile: wall {wall.TotalMilliseconds:0} ms, cpu {process.TotalProcessorTime.TotalMilliseconds:0} ms, jit {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:0} ms for {System.Runtime.JitInfo.GetCompiledMethodCount()} methods, {AppDomain.CurrentDomain.GetAssemblies().Length} assemblies, {GC.CollectionCount(0)} gen0 GCs");
    }
}
