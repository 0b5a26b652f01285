namespace Hosting;

/// <summary>The exit codes both executables document and tests pin down.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>Anything else, always with a message.</summary>
    public const int Failure = 1;

    /// <summary>Bad usage or configuration: unknown option, malformed HOCON, bad input.</summary>
    public const int Usage = 2;

    /// <summary>The aggregator was unreachable within the connect time-out.</summary>
    public const int Unreachable = 3;

    /// <summary>Stopped by Ctrl+C before the command finished (128 + SIGINT, as shells report it; SIGTERM gives 143).</summary>
    public const int Interrupted = 130;

    /// <summary>Stopped by SIGTERM before the command finished (128 + SIGTERM).</summary>
    public const int Terminated = 143;
}
