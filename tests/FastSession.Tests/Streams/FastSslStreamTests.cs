using System;
using System.IO;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Streams;

/// <summary>
/// FastSslStream over real loopback TCP sockets, both protocols: data both ways, resumption, the client session cache,
/// TLS 1.3 tickets after the handshake, and peers that hang up or send garbage. Every test is also a leak test
/// (<see cref="LiveObjectTest"/>): the shim's live object counts must return to the baseline.
/// </summary>
public sealed class FastSslStreamTests : StreamTest
{
    // ---- Data ---------------------------------------------------------------------------------

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task Echo_RoundTripsSmallAndLargeMessages(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
        await using (client)
        await using (server)
        {
            Assert.Equal(version, client.NegotiatedProtocol);
            Assert.Equal(version, server.NegotiatedProtocol);
            Assert.False(client.SessionReused);
            Task echo = EchoAsync(server);

            foreach (int size in new[] { 1, 1000, 16 * 1024, 16 * 1024 + 1, 300_000 })
            {
                byte[] message = Pattern(size);
                await client.WriteAsync(message, Token);
                byte[] back = await ReadExactlyAsync(client, size);
                Assert.Equal(message, back);
            }

            await client.ShutdownAsync(Token);
            await echo.WaitAsync(Timeout);
            // The server answered our close_notify with its own: the client reads the end.
            Assert.Equal(0, await client.ReadAsync(new byte[16], Token));
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task FullDuplex_ConcurrentReadAndWriteOnOneStream(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
        await using (client)
        await using (server)
        {
            Task echo = EchoAsync(server);
            const int total = 2_000_000;
            byte[] sent = Pattern(total);
            // One task writes while another reads the echo, on the same FastSslStream.
            Task writer = Task.Run(async () =>
            {
                for (int offset = 0; offset < total; offset += 50_000)
                {
                    await client.WriteAsync(sent.AsMemory(offset, Math.Min(50_000, total - offset)), Token);
                }
            });
            byte[] received = await ReadExactlyAsync(client, total);
            await writer.WaitAsync(Timeout);
            Assert.Equal(sent, received);
            await client.ShutdownAsync(Token);
            await echo.WaitAsync(Timeout);
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task DataFollowedByCloseNotifyInOneSegment_IsDeliveredBeforeTheEnd(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
        await using (client)
        await using (server)
        {
            // What openssl s_server -www does: the answer and close_notify back to back.
            await server.WriteAsync("last words"u8.ToArray(), Token);
            await server.ShutdownAsync(Token);
            await Task.Delay(100, Token); // Both records are in the socket before the client reads.
            byte[] buffer = new byte[64];
            int n = await client.ReadAsync(buffer, Token);
            Assert.Equal("last words", Encoding.ASCII.GetString(buffer, 0, n));
            Assert.Equal(0, await client.ReadAsync(buffer, Token));
            Assert.True(client.Connection.ShutdownReceived);
            await client.ShutdownAsync(Token);
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task DataFollowedByAForgedRecordInOneSegment_IsDelivered_ThenTheNextReadFails(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        var serverTransport = new AppendingStream(new NetworkStream(serverSocket, ownsSocket: true));
        await using var client = new FastSslStream(new NetworkStream(clientSocket, ownsSocket: true));
        await using var server = new FastSslStream(serverTransport);
        await Task.WhenAll(
            server.AuthenticateAsServerAsync(serverContext, Token),
            client.AuthenticateAsClientAsync(clientContext, "localhost", default, Token)).WaitAsync(Timeout);
        await client.WaitForSessionTicketsAsync(TimeSpan.FromSeconds(5), 1, Token);

        // An application-data record whose authentication tag cannot verify, right behind a genuine one.
        byte[] forged = new byte[5 + 40];
        new Random(11).NextBytes(forged);
        forged[0] = 0x17;
        forged[1] = 0x03;
        forged[2] = 0x03;
        forged[3] = 0;
        forged[4] = 40;
        serverTransport.AppendToNextWrite(forged);
        await server.WriteAsync("genuine"u8.ToArray(), Token);
        await Task.Delay(100, Token);

        byte[] buffer = new byte[64];
        int n = await client.ReadAsync(buffer, Token);
        Assert.Equal("genuine", Encoding.ASCII.GetString(buffer, 0, n));
        var e = await Assert.ThrowsAsync<SslProtocolException>(async () => await client.ReadExactlyAsync(buffer.AsMemory(0, 1), Token));
        Assert.IsAssignableFrom<IOException>(e);
        Assert.Contains("TLS read failed", e.Message, StringComparison.Ordinal);
        Assert.True(client.Connection.IsFaulted);
        // Like SslStream: once the connection failed, I/O is an IOException, not a state error.
        await Assert.ThrowsAsync<SslProtocolException>(async () => await client.WriteAsync(new byte[1], Token));
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task ZeroByteRead_WaitsForDataWithoutConsumingIt(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
        await using (client)
        await using (server)
        {
            ValueTask<int> wait = client.ReadAsync(Memory<byte>.Empty, Token);
            await Task.Delay(50, Token);
            Assert.False(wait.IsCompleted);
            await server.WriteAsync("ready"u8.ToArray(), Token);
            Assert.Equal(0, await wait.AsTask().WaitAsync(Timeout));
            Assert.Equal("ready", Encoding.ASCII.GetString(await ReadExactlyAsync(client, 5)));
            await CloseCleanlyAsync(client, server);
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task SynchronousReadAndWrite_Work(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
        await using (client)
        await using (server)
        {
            Task echo = EchoAsync(server);
            await Task.Run(() =>
            {
                byte[] message = Pattern(40_000);
                client.Write(message, 0, message.Length);
                byte[] back = new byte[message.Length];
                int read = 0;
                while (read < back.Length)
                {
                    int n = client.Read(back, read, back.Length - read);
                    Assert.True(n > 0, "the echo ended early");
                    read += n;
                }
                Assert.Equal(message, back);
            }).WaitAsync(Timeout);
            await client.ShutdownAsync(Token);
            await echo.WaitAsync(Timeout);
        }
    }

    // ---- Sessions -----------------------------------------------------------------------------

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task SecondConnection_ResumesWithASessionOfTheFirst(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        var latest = new LatestSession();
        clientContext.SessionEstablished = latest.OnSessionEstablished;
        try
        {
            (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
            await using (client)
            await using (server)
            {
                Assert.False(client.SessionReused);
                Assert.False(server.SessionReused);
                await client.WaitForSessionTicketsAsync(Timeout, 1, Token);
                await CloseCleanlyAsync(client, server);
            }
            Assert.False(latest.Session.IsNone);
            Assert.True(latest.Session.IsResumable);
            SslSession offered = latest.Take();
            using (offered)
            {
                (client, server) = await HandshakeAsync(clientContext, serverContext, offered);
            }
            await using (client)
            await using (server)
            {
                Assert.True(client.SessionReused);
                Assert.True(server.SessionReused);
                Assert.True(client.Connection.SessionReused);
                await client.WaitForSessionTicketsAsync(Timeout, 1, Token);
                await CloseCleanlyAsync(client, server);
            }
        }
        finally
        {
            clientContext.SessionEstablished = null;
            latest.Take().Dispose();
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task ClientSessionCache_IsFedByTheStreamAndResumesTheNextConnection(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        using var cache = new SslClientSessionCache();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
                await using var client = new FastSslStream(new NetworkStream(clientSocket, ownsSocket: true));
                await using var server = new FastSslStream(new NetworkStream(serverSocket, ownsSocket: true));
                Task serverHandshake = server.AuthenticateAsServerAsync(serverContext, Token);
                await client.AuthenticateAsClientAsync(clientContext, "localhost", Tcp.Port, cache, null, Token).WaitAsync(Timeout);
                await serverHandshake.WaitAsync(Timeout);

                Assert.Equal(new SslSessionCacheKey("localhost", Tcp.Port), client.Connection.CacheKey);
                Assert.Equal(i > 0, client.SessionReused);
                // The stream installed the cache as the context's new-session handler.
                Assert.NotNull(clientContext.SessionEstablished);
                int sessions = await client.WaitForSessionTicketsAsync(Timeout, 1, Token);
                Assert.True(sessions >= (version == TlsVersion.Tls13 || i == 0 ? 1 : 0), $"connection {i}: {sessions} sessions");
                await CloseCleanlyAsync(client, server);
                Assert.True(cache.Count >= 1);
            }
            SslSessionCacheStatistics stats = cache.Statistics;
            Assert.Equal(2, stats.Hits);
            Assert.Equal(1, stats.Misses);
            // S9: a TLS 1.3 ticket resumes once; a TLS 1.2 session stays for reuse.
            Assert.Equal(version == TlsVersion.Tls13 ? 2 : 0, stats.SingleUseConsumed);
        }
        finally
        {
            clientContext.SessionEstablished = null;
        }
    }

    [Fact]
    public async Task Tls13_WaitForSessionTickets_ProcessesTicketsWithoutConsumingApplicationData()
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls13, ticketCount: 3);
        using SslContext clientContext = Tls.Client(TlsVersion.Tls13);
        (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
        await using (client)
        await using (server)
        {
            // The server's tickets left with its last flight; data follows right behind them.
            await server.WriteAsync("hello"u8.ToArray(), Token);
            int tickets = await client.WaitForSessionTicketsAsync(Timeout, 3, Token);
            Assert.Equal(3, tickets);
            Assert.Equal(3, client.SessionsReceived);
            int taken = 0;
            while (client.Connection.TryTakeNewSession(out SslSession ticket))
            {
                using (ticket)
                {
                    Assert.True(ticket.IsResumable);
                    taken++;
                }
            }
            Assert.Equal(3, taken);
            Assert.Equal("hello", Encoding.ASCII.GetString(await ReadExactlyAsync(client, 5)));
            await CloseCleanlyAsync(client, server);
        }
    }

    [Fact]
    public async Task Tls13_WaitForSessionTickets_TimesOutWithoutLosingLaterData()
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls13, ticketCount: 0);
        using SslContext clientContext = Tls.Client(TlsVersion.Tls13);
        (FastSslStream client, FastSslStream server) = await HandshakeAsync(clientContext, serverContext);
        await using (client)
        await using (server)
        {
            var started = DateTime.UtcNow;
            int tickets = await client.WaitForSessionTicketsAsync(TimeSpan.FromMilliseconds(300), 1, Token);
            Assert.Equal(0, tickets);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
            // The inner read the wait left outstanding delivers these bytes to the next reader.
            await server.WriteAsync("late"u8.ToArray(), Token);
            Assert.Equal("late", Encoding.ASCII.GetString(await ReadExactlyAsync(client, 4)));
            await CloseCleanlyAsync(client, server);
        }
    }

    // ---- Failures -----------------------------------------------------------------------------

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task Client_ServerHangsUpMidHandshake_ThrowsOneHandshakeExceptionAndFreesTheConnection(TlsVersion version)
    {
        using SslContext clientContext = Tls.Client(version);
        LiveObjectCounts baseline = LiveObjectCounts.Current;
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        using (serverSocket)
        {
            var client = new FastSslStream(new NetworkStream(clientSocket, ownsSocket: true));
            Task handshake = client.AuthenticateAsClientAsync(clientContext, "localhost", default, Token);
            // The peer reads the ClientHello, then hangs up.
            byte[] hello = new byte[4096];
            Assert.True(await serverSocket.ReceiveAsync(hello, SocketFlags.None, Token) > 0);
            serverSocket.Shutdown(SocketShutdown.Both);
            serverSocket.Close();

            var e = await Assert.ThrowsAsync<SslHandshakeException>(() => handshake.WaitAsync(Timeout));
            Assert.IsAssignableFrom<AuthenticationException>(e);
            Assert.Contains("closed", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.True(client.Connection.IsDisposed);
            Assert.False(client.IsAuthenticated);
            Assert.Equal(baseline, LiveObjectCounts.Current);
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await client.ReadExactlyAsync(new byte[1], Token));
            await client.DisposeAsync();
        }
        Assert.Equal(baseline, LiveObjectCounts.Current);
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task Server_ClientHangsUpMidClientHello_ThrowsOneHandshakeExceptionAndFreesTheConnection(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        using SslContext clientContext = Tls.Client(version);
        byte[] clientHello = ClientHello(clientContext);
        LiveObjectCounts baseline = LiveObjectCounts.Current;
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        using (clientSocket)
        {
            var server = new FastSslStream(new NetworkStream(serverSocket, ownsSocket: true));
            Task handshake = server.AuthenticateAsServerAsync(serverContext, Token);
            // Half of a genuine ClientHello, then EOF.
            await clientSocket.SendAsync(clientHello.AsMemory(0, clientHello.Length / 2), SocketFlags.None, Token);
            clientSocket.Shutdown(SocketShutdown.Send);

            var e = await Assert.ThrowsAsync<SslHandshakeException>(() => handshake.WaitAsync(Timeout));
            Assert.Contains("closed", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.True(server.Connection.IsDisposed);
            Assert.Equal(baseline, LiveObjectCounts.Current);
            await server.DisposeAsync();
        }
        Assert.Equal(baseline, LiveObjectCounts.Current);
    }

    [Fact]
    public async Task Server_ClientConnectsAndSendsNothing_ThenCloses_ThrowsHandshakeException()
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls13);
        LiveObjectCounts baseline = LiveObjectCounts.Current;
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        await using var server = new FastSslStream(new NetworkStream(serverSocket, ownsSocket: true));
        Task handshake = server.AuthenticateAsServerAsync(serverContext, Token);
        clientSocket.Dispose();
        var e = await Assert.ThrowsAsync<SslHandshakeException>(() => handshake.WaitAsync(Timeout));
        Assert.Contains("before sending any", e.Message, StringComparison.Ordinal);
        Assert.Equal(baseline, LiveObjectCounts.Current);
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task Server_ClientSendsGarbage_ThrowsOneHandshakeExceptionAndFreesTheConnection(TlsVersion version)
    {
        using SslContext serverContext = Tls.Server(version);
        LiveObjectCounts baseline = LiveObjectCounts.Current;
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        using (clientSocket)
        {
            var server = new FastSslStream(new NetworkStream(serverSocket, ownsSocket: true));
            Task handshake = server.AuthenticateAsServerAsync(serverContext, Token);
            await clientSocket.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), SocketFlags.None, Token);

            var e = await Assert.ThrowsAsync<SslHandshakeException>(() => handshake.WaitAsync(Timeout));
            Assert.Contains("TLS handshake failed", e.Message, StringComparison.Ordinal);
            Assert.NotEqual(0UL, e.OpenSslError);
            Assert.True(server.Connection.IsDisposed);
            Assert.Equal(baseline, LiveObjectCounts.Current);
            await server.DisposeAsync();
        }
        Assert.Equal(baseline, LiveObjectCounts.Current);
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task Client_ServerAnswersGarbage_ThrowsOneHandshakeExceptionAndFreesTheConnection(TlsVersion version)
    {
        using SslContext clientContext = Tls.Client(version);
        LiveObjectCounts baseline = LiveObjectCounts.Current;
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        using (serverSocket)
        {
            var client = new FastSslStream(new NetworkStream(clientSocket, ownsSocket: true));
            Task handshake = client.AuthenticateAsClientAsync(clientContext, "localhost", default, Token);
            byte[] hello = new byte[4096];
            Assert.True(await serverSocket.ReceiveAsync(hello, SocketFlags.None, Token) > 0);
            byte[] garbage = new byte[512];
            new Random(7).NextBytes(garbage);
            garbage[0] = 0x16; // Looks like a handshake record; the rest is noise.
            garbage[1] = 0x03;
            garbage[2] = 0x03;
            await serverSocket.SendAsync(garbage, SocketFlags.None, Token);

            var e = await Assert.ThrowsAsync<SslHandshakeException>(() => handshake.WaitAsync(Timeout));
            Assert.Contains("TLS handshake failed", e.Message, StringComparison.Ordinal);
            Assert.True(client.Connection.IsDisposed);
            Assert.Equal(baseline, LiveObjectCounts.Current);
            await client.DisposeAsync();
        }
        Assert.Equal(baseline, LiveObjectCounts.Current);
    }

    [Fact]
    public async Task CancelledHandshake_ThrowsOperationCanceledAndFreesTheConnection()
    {
        using SslContext clientContext = Tls.Client(TlsVersion.Tls13);
        LiveObjectCounts baseline = LiveObjectCounts.Current;
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        using (serverSocket)
        {
            await using var client = new FastSslStream(new NetworkStream(clientSocket, ownsSocket: true));
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            // The peer accepts and never answers.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(
                () => client.AuthenticateAsClientAsync(clientContext, "localhost", default, cancel.Token).WaitAsync(Timeout));
            Assert.True(client.Connection.IsDisposed);
            Assert.Equal(baseline, LiveObjectCounts.Current);
        }
    }

    [Fact]
    public async Task Misuse_IsReportedClearly()
    {
        using SslContext serverContext = Tls.Server(TlsVersion.Tls13);
        using SslContext clientContext = Tls.Client(TlsVersion.Tls13);
        (Socket clientSocket, Socket serverSocket) = await Tcp.ConnectAsync(Token);
        using (serverSocket)
        {
            await using var client = new FastSslStream(new NetworkStream(clientSocket, ownsSocket: true));
            Assert.Throws<InvalidOperationException>(() => client.Connection);
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await client.WriteAsync(new byte[1], Token));
            await Assert.ThrowsAsync<ArgumentException>(() => client.AuthenticateAsClientAsync(serverContext, "localhost", default, Token));
        }
        await using var disposed = new FastSslStream(new MemoryStream());
        await disposed.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => disposed.AuthenticateAsServerAsync(serverContext, Token));
    }

    // ---- Helpers ------------------------------------------------------------------------------

    private async Task EchoAsync(FastSslStream server)
    {
        byte[] buffer = new byte[8192];
        int n;
        while ((n = await server.ReadAsync(buffer, Token)) > 0)
        {
            await server.WriteAsync(buffer.AsMemory(0, n), Token);
        }
        await server.ShutdownAsync(Token);
    }

    /// <summary>Client sends close_notify, the server sees the end and answers with its own.</summary>
    private async Task CloseCleanlyAsync(FastSslStream client, FastSslStream server)
    {
        await client.ShutdownAsync(Token);
        Assert.Equal(0, await server.ReadAsync(new byte[16], Token).AsTask().WaitAsync(Timeout));
        await server.ShutdownAsync(Token);
    }

    private async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        byte[] buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer, Token).AsTask().WaitAsync(Timeout);
        return buffer;
    }

    private static byte[] Pattern(int size)
    {
        byte[] data = new byte[size];
        for (int i = 0; i < size; i++)
        {
            data[i] = (byte)(i * 31 + (i >> 8));
        }
        return data;
    }

    /// <summary>A genuine ClientHello from a client connection of <paramref name="context"/>.</summary>
    private static byte[] ClientHello(SslContext context)
    {
        using SslConnection connection = context.CreateConnection("localhost");
        byte[] output = new byte[16 * 1024];
        SslIoResult result = connection.Handshake(default, output);
        Assert.Equal(SslStatus.NeedsInput, result.Status);
        return output.AsSpan(0, result.BytesWritten).ToArray();
    }

    private sealed class LatestSession
    {
        private readonly object _lock = new();
        private SslSession _session;

        public SslSession Session
        {
            get
            {
                lock (_lock)
                {
                    return _session;
                }
            }
        }

        public void OnSessionEstablished(SslConnection connection, SslSession session)
        {
            SslSession old;
            lock (_lock)
            {
                old = _session;
                _session = session;
            }
            old.Dispose();
        }

        public SslSession Take()
        {
            lock (_lock)
            {
                SslSession s = _session;
                _session = default;
                return s;
            }
        }
    }
}
