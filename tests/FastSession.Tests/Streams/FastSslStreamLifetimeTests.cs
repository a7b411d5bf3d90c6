using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Streams;

/// <summary>
/// FastSslStream's lifetime over real loopback sockets: clean close by default (S8 both ways), the nesting guards that
/// refuse a second concurrent read or write, I/O racing Dispose (always <see cref="ObjectDisposedException"/>), a Dispose
/// that a peer which stopped reading cannot hold up, and the context's connection pool. Every race is bounded in time.
/// </summary>
public sealed class FastSslStreamLifetimeTests : StreamTest
{
    // ---- Clean close by default (S8 both ways) --------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Tls12_DisposeWithoutShutdown_SendsCloseNotify_AndTheSessionStaysResumable(bool synchronousDispose)
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls12);
        using SslContext clientContext = Tls.Client(TlsVersion.Tls12);
        (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
        SslSession session;
        await using (server)
        {
            await server.WriteAsync(new byte[] { 7 }, Token);
            Assert.Equal(1, await client.ReadAsync(new byte[1], Token));
            Assert.True(client.Connection.TryAcquireSession(out session));
            if (synchronousDispose)
            {
                client.Dispose();
            }
            else
            {
                await client.DisposeAsync();
            }
            // The server sees the client's close_notify, not a truncation.
            Assert.Equal(0, await server.ReadAsync(new byte[1], Token).AsTask().WaitAsync(Timeout));
            Assert.True(server.Connection.ShutdownReceived);
        }
        using (session)
        {
            Assert.True(session.IsResumable);
        }
    }

    [Fact]
    public async Task Tls12_PeerThatVanished_OrAFatalError_StillInvalidatesTheSession()
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls12);
        using SslContext clientContext = Tls.Client(TlsVersion.Tls12);
        SslSession vanished, failed;

        // The server's transport closes without close_notify: the client reads a truncated end.
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        await using (var client = new FastSslStream(new NetworkStream(clientSocket, ownsSocket: true)))
        {
            var server = new FastSslStream(new NetworkStream(serverSocket, ownsSocket: true), leaveInnerStreamOpen: true);
            await Task.WhenAll(server.AuthenticateAsServerAsync(serverContext, Token), client.AuthenticateAsClientAsync(clientContext, "localhost", default, Token)).WaitAsync(Timeout);
            Assert.True(client.Connection.TryAcquireSession(out vanished));
            serverSocket.Dispose();
            Assert.Equal(0, await client.ReadAsync(new byte[1], Token).AsTask().WaitAsync(Timeout));
            await server.DisposeAsync();
        }

        // A forged record: the client's connection fails fatally.
        (clientSocket, serverSocket) = await Tcp.ConnectAsync(Token);
        var serverTransport = new AppendingStream(new NetworkStream(serverSocket, ownsSocket: true));
        await using (var client = new FastSslStream(new NetworkStream(clientSocket, ownsSocket: true)))
        await using (var server = new FastSslStream(serverTransport))
        {
            await Task.WhenAll(server.AuthenticateAsServerAsync(serverContext, Token), client.AuthenticateAsClientAsync(clientContext, "localhost", default, Token)).WaitAsync(Timeout);
            Assert.True(client.Connection.TryAcquireSession(out failed));
            serverTransport.AppendToNextWrite(new byte[] { 0x17, 0x03, 0x03, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 });
            await server.WriteAsync(new byte[] { 1 }, Token);
            await Assert.ThrowsAsync<SslProtocolException>(async () =>
            {
                while (await client.ReadAsync(new byte[16], Token) > 0)
                {
                }
            });
        }

        using (vanished)
        using (failed)
        {
            Assert.False(vanished.IsResumable);
            Assert.False(failed.IsResumable);
        }
    }

    [Fact]
    public async Task Dispose_WhenThePeerStoppedReading_ReturnsWithinTheCloseBound()
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls13);
        using SslContext clientContext = Tls.Client(TlsVersion.Tls13);
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        var gate = new WriteGateStream(new NetworkStream(clientSocket, ownsSocket: true));
        (FastSslStream client, FastSslStream server) = await HandshakeOverAsync(gate, new NetworkStream(serverSocket, ownsSocket: true), clientContext, serverContext);
        await using var serverScope = server;
        gate.Hold();
        var watch = Stopwatch.StartNew();
        client.Dispose(); // the close_notify never leaves: Dispose gives up after its bound, without throwing
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.True(gate.WriteWasAttempted);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => _ = await client.ReadAsync(new byte[1].AsMemory(), Token));
        // The abandoned close fails against the disposed transport and releases the last reference: the connection is
        // freed (never pooled: its close_notify did not leave).
        SslConnection connection = client.Connection;
        while (!connection.IsDisposed && !Token.IsCancellationRequested)
        {
            await Task.Delay(10, Token);
        }
        Assert.True(connection.IsDisposed);
    }

    // ---- Nesting guards -----------------------------------------------------------------------

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task SecondConcurrentRead_IsRefusedAtOnce_AndTheFirstStillWorks(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
        await using (client)
        await using (server)
        {
            byte[] buffer = new byte[16];
            ValueTask<int> first = client.ReadAsync(buffer, Token);
            await Assert.ThrowsAsync<NotSupportedException>(async () => _ = await client.ReadAsync(new byte[16], Token));
            Assert.Throws<NotSupportedException>(() => client.Read(new byte[16], 0, 16));
            if (version == TlsVersion.Tls13)
            {
                await Assert.ThrowsAsync<NotSupportedException>(() => client.WaitForSessionTicketsAsync(TimeSpan.FromSeconds(1), 99, Token));
            }
            await server.WriteAsync("hello"u8.ToArray(), Token);
            Assert.Equal(5, await first.AsTask().WaitAsync(Timeout));
            Assert.Equal("hello"u8.ToArray(), buffer.AsSpan(0, 5).ToArray());
        }
    }

    [Fact]
    public async Task SecondConcurrentWrite_IsRefusedAtOnce()
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls13);
        using SslContext clientContext = Tls.Client(TlsVersion.Tls13);
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        var gate = new WriteGateStream(new NetworkStream(clientSocket, ownsSocket: true));
        (FastSslStream client, FastSslStream server) = await HandshakeOverAsync(gate, new NetworkStream(serverSocket, ownsSocket: true), clientContext, serverContext);
        await using var clientScope = client;
        await using var serverScope = server;
        gate.Hold();
        ValueTask first = client.WriteAsync(new byte[100], Token);
        Assert.False(first.IsCompleted);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await client.WriteAsync(new byte[1], Token));
        await Assert.ThrowsAsync<NotSupportedException>(() => client.ShutdownAsync(Token));
        gate.Open();
        await first.AsTask().WaitAsync(Timeout);
        Assert.Equal(100, await ReadAtLeastAsync(server, 100));
    }

    // ---- Dispose races ------------------------------------------------------------------------

    [Fact]
    public async Task IoRacingDispose_EndsInObjectDisposedException_NeverAnArgumentException()
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls13);
        using SslContext clientContext = Tls.Client(TlsVersion.Tls13);
        var unexpected = new ConcurrentQueue<Exception>();
        var random = new Random(12);
        long end = Environment.TickCount64 + RaceMilliseconds;
        int rounds = 0;
        while (Environment.TickCount64 < end || rounds < 20)
        {
            rounds++;
            (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
            await using (server)
            {
                Task echo = EchoUntilEndAsync(server);
                Task reader = Task.Run(async () =>
                {
                    byte[] buffer = new byte[4096];
                    while (await client.ReadAsync(buffer, Token) > 0)
                    {
                    }
                });
                Task writer = Task.Run(async () =>
                {
                    byte[] data = new byte[1024];
                    while (true)
                    {
                        if ((Random.Shared.Next() & 1) == 0)
                        {
                            await client.WriteAsync(data, Token);
                        }
                        else
                        {
                            client.Write(data, 0, data.Length);
                        }
                    }
                });
                await Task.Delay(random.Next(0, 3), Token);
                if ((rounds & 1) == 0)
                {
                    client.Dispose();
                }
                else
                {
                    await client.DisposeAsync();
                }
                foreach (Task task in new[] { reader, writer })
                {
                    try
                    {
                        await task.WaitAsync(Timeout);
                    }
                    catch (ObjectDisposedException)
                    {
                    }
                    catch (Exception e)
                    {
                        unexpected.Enqueue(e);
                    }
                }
                await echo.WaitAsync(Timeout);
            }
        }
        Assert.Empty(unexpected);
    }

    [Fact]
    public async Task WritesRacingAFatalReadError_AllSurfaceTheStreamsProtocolException()
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls13);
        using SslContext clientContext = Tls.Client(TlsVersion.Tls13);
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        var serverTransport = new AppendingStream(new NetworkStream(serverSocket, ownsSocket: true));
        (FastSslStream client, FastSslStream server) = await HandshakeOverAsync(new NetworkStream(clientSocket, ownsSocket: true), serverTransport, clientContext, serverContext);
        await using var clientScope = client;
        await using var serverScope = server;
        Task drain = Task.Run(async () =>
        {
            byte[] sink = new byte[16 * 1024];
            try
            {
                while (await server.ReadAsync(sink, Token) > 0)
                {
                }
            }
            catch (IOException)
            {
                // The client's alert ends the server's reads too.
            }
        });
        var failures = new ConcurrentQueue<Exception>();
        Task writer = Task.Run(async () =>
        {
            byte[] data = new byte[512];
            for (int i = 0; i < 100_000; i++)
            {
                try
                {
                    await client.WriteAsync(data, Token);
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                    if (failures.Count >= 3)
                    {
                        return;
                    }
                }
            }
        });
        serverTransport.AppendToNextWrite(new byte[] { 0x17, 0x03, 0x03, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 });
        await server.WriteAsync(new byte[] { 1 }, Token);
        SslProtocolException readFailure = await Assert.ThrowsAsync<SslProtocolException>(async () =>
        {
            while (await client.ReadAsync(new byte[16], Token) > 0)
            {
            }
        });
        await writer.WaitAsync(Timeout);
        Assert.NotEmpty(failures);
        Assert.All(failures, e => Assert.Same(readFailure, e));
        await drain.WaitAsync(Timeout);
    }

    // ---- The context's connection pool ---------------------------------------------------------

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task CleanlyClosedConnections_AreReused_AndResume(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        using var cache = new SslClientSessionCache();
        clientContext.SessionEstablished = cache.OnSessionEstablished;
        SslConnection? previousClient = null, previousServer = null;
        int reused = 0, resumed = 0;
        for (int i = 0; i < 6; i++)
        {
            (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
            var client = new FastSslStream(new NetworkStream(clientSocket, ownsSocket: true));
            var server = new FastSslStream(new NetworkStream(serverSocket, ownsSocket: true));
            await Task.WhenAll(server.AuthenticateAsServerAsync(serverContext, Token), client.AuthenticateAsClientAsync(clientContext, "localhost", Tcp.Port, cache, null, Token)).WaitAsync(Timeout);
            reused += ReferenceEquals(client.Connection, previousClient) && ReferenceEquals(server.Connection, previousServer) ? 1 : 0;
            resumed += client.SessionReused ? 1 : 0;
            previousClient = client.Connection;
            previousServer = server.Connection;
            await server.WriteAsync(new byte[] { 1 }, Token);
            Assert.Equal(1, await client.ReadAsync(new byte[1], Token)); // TLS 1.3: the tickets come with it
            await client.DisposeAsync();
            Assert.Equal(0, await server.ReadAsync(new byte[1], Token).AsTask().WaitAsync(Timeout));
            await server.DisposeAsync();
            Assert.Throws<ObjectDisposedException>(() => client.Connection);
        }
        clientContext.SessionEstablished = null;
        Assert.Equal(5, reused);
        Assert.Equal(5, resumed);
    }

    [Fact]
    public void PoolRentAndReturn_AllocatesNothing()
    {
        using SslContext context = Tls.Client(TlsVersion.Tls13);
        for (int i = 0; i < 10; i++)
        {
            SslConnectionPool.Return(SslConnectionPool.Rent(context, "localhost"));
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            SslConnectionPool.Return(SslConnectionPool.Rent(context, "localhost"));
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ResumedClientStreams_AllocateAtMost256Bytes_Each()
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls12);
        using SslContext clientContext = Tls.Client(TlsVersion.Tls12);
        using SslConnection server = serverContext.CreateConnection();
        var transport = new ServerEngineStream();
        SslSession session = default;
        byte[] one = new byte[1];
        int failures = 0;
        long Connect()
        {
            server.Reset();
            transport.Accept(server);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var client = new FastSslStream(transport, leaveInnerStreamOpen: true);
            Task handshake = client.AuthenticateAsClientAsync(clientContext, "localhost", session);
            // Every step completed synchronously: this thread did all the work. (No Assert inside the window: they allocate.)
            failures += handshake.IsCompletedSuccessfully ? 0 : 1;
            transport.SendFromServer(one);
            failures += client.Read(one, 0, 1) == 1 ? 0 : 1;
            if (session.IsNone && !client.Connection.TryAcquireSession(out session))
            {
                failures++;
            }
            client.Dispose(); // close_notify, then the connection goes back to the context's pool
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        try
        {
            for (int i = 0; i < 50; i++)
            {
                Connect(); // warm-up: tiering, the pools
            }
            long total = 0;
            const int Connections = 200;
            for (int i = 0; i < Connections; i++)
            {
                total += Connect();
            }
            Assert.Equal(0, failures);
            Assert.True(server.SessionReused);
            // What is left is the stream object itself (with its lock): the connection, buffers and async operations are reused.
            Assert.InRange(total / Connections, 0, 256);
        }
        finally
        {
            session.Dispose();
        }
    }

    // ---- Helpers ------------------------------------------------------------------------------

    private static int RaceMilliseconds =>
        int.TryParse(Environment.GetEnvironmentVariable("FASTSESSION_SOAK_SECONDS"), out int seconds) && seconds > 0 ? seconds * 1000 : 1500;

    /// <summary>Echoes until the client's close_notify or its transport's end (a disposed client); failures end it too.</summary>
    private static async Task EchoUntilEndAsync(FastSslStream server)
    {
        byte[] buffer = new byte[8192];
        try
        {
            int n;
            while ((n = await server.ReadAsync(buffer)) > 0)
            {
                await server.WriteAsync(buffer.AsMemory(0, n));
            }
        }
        catch (IOException)
        {
            // The client vanished mid-record: that is this side's expected end in a dispose race.
        }
    }

    private async Task<int> ReadAtLeastAsync(Stream stream, int count)
    {
        byte[] buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer, Token).AsTask().WaitAsync(Timeout);
        return count;
    }

    /// <summary>A pass-through stream whose writes can be held (a peer that stopped reading); disposing releases them.</summary>
    private sealed class WriteGateStream : PassThroughStream
    {
        private readonly ManualResetEventSlim _open = new(true);

        public WriteGateStream(Stream inner) : base(inner)
        {
        }

        public bool WriteWasAttempted { get; private set; }

        public void Hold() => _open.Reset();

        public void Open() => _open.Set();

        public override void Write(byte[] buffer, int offset, int count)
        {
            WriteWasAttempted = !_open.IsSet || WriteWasAttempted;
            _open.Wait();
            Inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            WriteWasAttempted = !_open.IsSet || WriteWasAttempted;
            while (!_open.IsSet)
            {
                await Task.Delay(10, cancellationToken);
            }
            await Inner.WriteAsync(buffer, cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing); // the inner stream first: a held write goes on and fails against it
            if (disposing)
            {
                _open.Set();
            }
        }
    }
}
