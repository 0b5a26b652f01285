using System.Net.Sockets;

namespace Hosting;

/// <summary>The aggregator could not start, or stopped serving: exit 1, with this message alone.</summary>
public sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The socket's error when listening failed (<see cref="CannotListen"/>), else null.</summary>
    public SocketError? SocketErrorCode { get; private init; }

    /// <summary>Why an actor system could not start listening on <paramref name="endpoint"/> (set by <paramref name="option"/>), in one line.</summary>
    public static StartupException CannotListen(Exception e, string endpoint, string option = "--port")
    {
        var cause = e;
        while (cause is not (null or SocketException))
        {
            cause = cause.InnerException;
        }

        var code = (cause as SocketException)?.SocketErrorCode;
        return new StartupException(code switch
        {
            null => $"the actor system did not start: {e.GetBaseException().Message}",
            SocketError.AddressAlreadyInUse =>
                $"cannot listen on {endpoint}: the port is already in use (choose another with {option}, or {option} 0)",
            SocketError.AddressNotAvailable => $"cannot listen on {endpoint}: that address is not one of this machine's (see --hostname)",
            SocketError.AccessDenied => $"cannot listen on {endpoint}: permission denied (ports below 1024 need privileges)",
            _ => $"cannot listen on {endpoint}: {cause!.Message}",
        }, e) { SocketErrorCode = code };
    }
}
