using System.Net;
using System.Net.Sockets;

namespace EndToEnd.Tests;

/// <summary>
/// Relays every TCP connection accepted on <c>address:Port</c> to <c>target</c>: lets nodes in
/// a test's network namespaces reach the PostgreSQL server that listens on this namespace's
/// loopback. A node cut off from the bridge loses its journal connections with it. Disposing
/// stops listening and closes every relayed connection.
/// </summary>
internal sealed class TcpRelay : IDisposable
{
    private readonly TcpListener _listener;
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();

    private TcpRelay(TcpListener listener, string targetHost, int targetPort)
    {
        _listener = listener;
        _targetHost = targetHost;
        _targetPort = targetPort;
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static TcpRelay Start(string address, string targetHost, int targetPort)
    {
        var listener = new TcpListener(IPAddress.Parse(address), 0);
        listener.Start();
        var relay = new TcpRelay(listener, targetHost, targetPort);
        _ = relay.AcceptAsync();
        return relay;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient accepted;
            try
            {
                accepted = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RelayAsync(accepted);
        }
    }

    private async Task RelayAsync(TcpClient accepted)
    {
        using var client = accepted;
        using var target = new TcpClient();
        try
        {
            await target.ConnectAsync(_targetHost, _targetPort, _stop.Token);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var from = client.GetStream();
            var to = target.GetStream();
            await Task.WhenAny(from.CopyToAsync(to, either.Token), to.CopyToAsync(from, either.Token));
            await either.CancelAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // One side closed or failed: both are closed on the way out.
        }
    }
}
