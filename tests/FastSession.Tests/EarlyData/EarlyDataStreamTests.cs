using System;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using FastSession.Tests.Streams;
using Xunit;

namespace FastSession.Tests.EarlyData;

/// <summary>
/// TLS 1.3 0-RTT over FastSslStream on loopback sockets, both ends FastSession: early data travels with the ClientHello and is read
/// by the server before the handshake completes; a rejection (policy, replay, no eligible ticket) is invisible to the bytes the
/// server reads, because the client writes them again after the handshake.
/// </summary>
public sealed class EarlyDataStreamTests : StreamTest
{
    private static readonly byte[] Request = Encoding.ASCII.GetBytes("GET /early HTTP/1.1\r\nHost: localhost\r\n\r\n");

    private static SslContext Server(bool earlyData = true, SslEarlyDataPolicy? policy = null) => SslContext.CreateServer(new SslServerOptions
    {
        MinVersion = TlsVersion.Tls13,
        DangerousEnableReplayableEarlyData = earlyData,
        EarlyDataPolicy = policy,
    });

    private static SslContext Client(SslContext server) => SslContext.CreateClient(new SslClientOptions
    {
        MinVersion = TlsVersion.Tls13,
        TrustedCertificatesPem = server.GetCertificatePem(),
        DangerousEnableReplayableEarlyData = true,
    });

    /// <summary>A full handshake, the first ticket, a clean close: the session a 0-RTT connection resumes.</summary>
    private async Task<SslSession> TicketAsync(SslContext client, SslContext server)
    {
        (FastSslStream c, FastSslStream s) = await HandshakeAsync(client, server);
        await using (c)
        await using (s)
        {
            Assert.True(await c.WaitForSessionTicketsAsync(Timeout, 1, Token) >= 1);
            Assert.True(c.Connection.TryTakeNewSession(out SslSession ticket));
            while (c.Connection.TryTakeNewSession(out SslSession extra))
            {
                extra.Dispose();
            }
            await c.ShutdownAsync(Token);
            return ticket;
        }
    }

    /// <summary>Resumes with <paramref name="session"/> and early data; returns the streams and the request as the server read it.</summary>
    private async Task<(FastSslStream Client, FastSslStream Server, string Received)> ZeroRttAsync(SslContext client, SslContext server, SslSession session)
    {
        (Socket cs, Socket ss) = await Tcp.ConnectAsync(Token);
        var c = new FastSslStream(new NetworkStream(cs, ownsSocket: true));
        var s = new FastSslStream(new NetworkStream(ss, ownsSocket: true));
        Task serverSide = s.AuthenticateAsServerAsync(server, Token);
        Task clientSide = c.AuthenticateAsClientAsync(client, "localhost", session, Request, Token);
        await Task.WhenAll(serverSide, clientSide).WaitAsync(Timeout);
        byte[] buffer = new byte[Request.Length];
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await s.ReadAsync(buffer.AsMemory(read), Token);
            Assert.NotEqual(0, n);
            read += n;
        }
        return (c, s, Encoding.ASCII.GetString(buffer));
    }

    [Fact]
    public async Task EarlyData_IsAccepted_AndReadByTheServerBeforeTheHandshakeCompletes()
    {
        using SslContext server = Server();
        using SslContext client = Client(server);
        using SslSession ticket = await TicketAsync(client, server);
        Assert.Equal(server.MaxEarlyData, (int)ticket.Info.MaxEarlyData);

        (FastSslStream c, FastSslStream s, string received) = await ZeroRttAsync(client, server, ticket);
        await using (c)
        await using (s)
        {
            Assert.Equal(Encoding.ASCII.GetString(Request), received);
            Assert.True(c.SessionReused);
            Assert.Equal(SslEarlyDataStatus.Accepted, c.EarlyDataStatus);
            Assert.Equal(SslEarlyDataStatus.Accepted, s.EarlyDataStatus);
            Assert.Equal(SslEarlyDataReason.None, s.EarlyDataReason);
            Assert.Equal(Request.Length, s.EarlyDataLength); // every request byte arrived as early data
            Assert.Equal(Request.Length, c.EarlyDataLength);
        }
    }

    [Fact]
    public async Task EarlyDataRefusedByPolicy_IsResentAfterTheHandshake_ExactlyOnce()
    {
        int asked = 0;
        using SslContext server = Server(policy: connection => { asked++; Assert.True(connection.IsServer); return false; });
        using SslContext client = Client(server);
        using SslSession ticket = await TicketAsync(client, server);

        (FastSslStream c, FastSslStream s, string received) = await ZeroRttAsync(client, server, ticket);
        await using (c)
        await using (s)
        {
            Assert.Equal(1, asked);
            Assert.Equal(Encoding.ASCII.GetString(Request), received);
            Assert.True(s.SessionReused); // resumed: only the early data was refused
            Assert.Equal(SslEarlyDataStatus.Rejected, s.EarlyDataStatus);
            Assert.Equal(SslEarlyDataReason.RejectedByPolicy, s.EarlyDataReason);
            Assert.Equal(SslEarlyDataStatus.Rejected, c.EarlyDataStatus);
            Assert.Equal(SslEarlyDataReason.PeerDeclined, c.EarlyDataReason);
            Assert.Equal(0, s.EarlyDataLength);
            // Nothing more than the one copy: the next bytes are the client's next write.
            await c.WriteAsync(new byte[] { (byte)'!' }, Token);
            byte[] one = new byte[8];
            Assert.Equal(1, await s.ReadAsync(one, Token));
            Assert.Equal((byte)'!', one[0]);
        }
    }

    [Fact]
    public async Task ReplayedTicketAndEarlyData_FallBackToOneRtt_InOneProcess()
    {
        using SslContext server = Server();
        using SslContext client = Client(server);
        byte[] der;
        using (SslSession ticket = await TicketAsync(client, server))
        {
            der = ticket.ToDer(); // what an attacker who captured the flight can resend
        }
        for (int attempt = 0; attempt < 2; attempt++)
        {
            using SslSession copy = SslSession.FromDer(der, client);
            (FastSslStream c, FastSslStream s, string received) = await ZeroRttAsync(client, server, copy);
            await using (c)
            await using (s)
            {
                Assert.Equal(Encoding.ASCII.GetString(Request), received);
                if (attempt == 0)
                {
                    Assert.Equal(SslEarlyDataStatus.Accepted, s.EarlyDataStatus);
                }
                else
                {
                    // OpenSSL's anti-replay: a ticket that allows early data is single use in the server's cache.
                    Assert.Equal(SslEarlyDataStatus.Rejected, s.EarlyDataStatus);
                    Assert.Equal(SslEarlyDataReason.SessionNotResumed, s.EarlyDataReason);
                    Assert.False(s.SessionReused);
                    Assert.Equal(SslEarlyDataReason.SessionNotResumed, c.EarlyDataReason);
                }
            }
        }
    }

    [Fact]
    public async Task TicketWithoutEarlyData_SendsNothingEarly_AndTheBytesStillArrive()
    {
        using SslContext server = Server(earlyData: false);
        using SslContext client = Client(server);
        using SslSession ticket = await TicketAsync(client, server);
        Assert.Equal(0u, ticket.Info.MaxEarlyData);

        (FastSslStream c, FastSslStream s, string received) = await ZeroRttAsync(client, server, ticket);
        await using (c)
        await using (s)
        {
            Assert.Equal(Encoding.ASCII.GetString(Request), received);
            Assert.True(c.SessionReused);
            Assert.Equal(SslEarlyDataStatus.NotSent, c.EarlyDataStatus);
            Assert.Equal(SslEarlyDataReason.TicketWithoutEarlyData, c.EarlyDataReason);
        }
    }

    [Fact]
    public void EarlyData_IsOffByDefault()
    {
        using SslContext server = SslContext.CreateServer();
        using SslContext client = SslContext.CreateClient(new SslClientOptions { TrustedCertificatesPem = server.GetCertificatePem() });
        Assert.False(server.EarlyDataEnabled);
        Assert.Equal(0, server.MaxEarlyData);
        using SslConnection connection = client.CreateConnection("localhost");
        Assert.Throws<InvalidOperationException>(() => connection.WriteEarlyData(Request, new byte[4096]));
        Assert.Throws<ArgumentException>(() => SslContext.CreateServer(new SslServerOptions { EarlyDataPolicy = _ => true }));
        Assert.Throws<ArgumentException>(() => SslContext.CreateServer(new SslServerOptions { DangerousEnableReplayableEarlyData = true, MaxVersion = TlsVersion.Tls12 }));
    }
}
