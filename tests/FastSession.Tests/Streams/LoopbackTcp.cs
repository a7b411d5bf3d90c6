using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Tests.Streams;

/// <summary>A listener on 127.0.0.1:0 that hands out connected socket pairs (client end, server end).</summary>
public sealed class LoopbackTcp : IDisposable
{
    private readonly TcpListener _listener;

    public LoopbackTcp()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connects a client socket and accepts its server socket.</summary>
    public async Task<(Socket Client, Socket Server)> ConnectAsync(CancellationToken cancellationToken)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            ValueTask<Socket> accept = _listener.AcceptSocketAsync(cancellationToken);
            await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
            Socket server = await accept;
            server.NoDelay = true;
            return (client, server);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Connects and wraps both ends in owning NetworkStreams.</summary>
    public async Task<(NetworkStream Client, NetworkStream Server)> ConnectStreamsAsync(CancellationToken cancellationToken)
    {
        (Socket client, Socket server) = await ConnectAsync(cancellationToken);
        return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
    }

    public void Dispose() => _listener.Stop();
}
