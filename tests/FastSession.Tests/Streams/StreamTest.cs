using System;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;

namespace FastSession.Tests.Streams;

/// <summary>
/// Base of the FastSslStream tests over real loopback sockets: a listener, one bounded deadline per test, and the handshake
/// of a client/server pair. Derives from <see cref="LiveObjectTest"/>: the shim's live object counts must return to the baseline.
/// </summary>
public abstract class StreamTest : LiveObjectTest
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly CancellationTokenSource _timeout = new(Timeout);

    protected LoopbackTcp Tcp { get; } = new();

    protected CancellationToken Token => _timeout.Token;

    public override void Dispose()
    {
        Tcp.Dispose();
        _timeout.Dispose();
        base.Dispose();
    }

    /// <summary>A fresh socket pair and a completed handshake over it; the caller disposes both streams.</summary>
    protected async Task<(FastSslStream Client, FastSslStream Server)> HandshakeAsync(SslContext clientContext, SslContext serverContext, SslSession resumeWith = default)
    {
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        return await HandshakeOverAsync(new NetworkStream(clientSocket, ownsSocket: true), new NetworkStream(serverSocket, ownsSocket: true), clientContext, serverContext, resumeWith);
    }

    /// <summary>A completed handshake over the given transports (wrappers of a socket pair).</summary>
    protected async Task<(FastSslStream Client, FastSslStream Server)> HandshakeOverAsync(Stream clientTransport, Stream serverTransport, SslContext clientContext, SslContext serverContext, SslSession resumeWith = default)
    {
        var client = new FastSslStream(clientTransport);
        var server = new FastSslStream(serverTransport);
        try
        {
            Task serverHandshake = server.AuthenticateAsServerAsync(serverContext, Token);
            Task clientHandshake = client.AuthenticateAsClientAsync(clientContext, "localhost", resumeWith, Token);
            await Task.WhenAll(serverHandshake, clientHandshake).WaitAsync(Timeout);
            return (client, server);
        }
        catch
        {
            await client.DisposeAsync();
            await server.DisposeAsync();
            throw;
        }
    }
}
