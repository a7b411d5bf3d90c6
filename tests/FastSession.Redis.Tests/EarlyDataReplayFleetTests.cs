using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Redis.Tests.Infrastructure;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Redis.Tests;

/// <summary>
/// Issue 17's replay target with real processes and a real redis-server: three <c>fastsession serve --early-data
/// --early-data-replay redis://…</c> processes sharing ticket keys; the same ticket and early data sent twice more — to the
/// process that accepted it and to another one — is rejected (1-RTT) every time, 100 times; and a Redis outage rejects
/// early data instead of accepting it.
/// </summary>
public sealed class EarlyDataReplayFleetTests(ITestOutputHelper output) : LiveObjectTest
{
    private const int Servers = 3;
    private static readonly byte[] Request = Encoding.ASCII.GetBytes("GET /replay-me HTTP/1.1\r\nHost: localhost\r\n\r\n");

    /// <summary>Attempts (FASTSESSION_EARLY_REPLAY_ATTEMPTS changes it).</summary>
    private static int Attempts => int.TryParse(Environment.GetEnvironmentVariable("FASTSESSION_EARLY_REPLAY_ATTEMPTS"), out int n) && n > 0 ? n : 100;

    [Fact]
    public async Task SameTicketAndEarlyData_AcceptedOnce_ThenRejectedBySameAndOtherProcess_EveryTime()
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        using Fleet fleet = await Fleet.StartAsync(pki, Servers, "--ticket-keys", redis.Location("z"), "--early-data", "--early-data-replay", redis.Location("z"), "--quiet");
        using SslContext client = SslContext.CreateClient(new SslClientOptions
        {
            MinVersion = TlsVersion.Tls13,
            TrustedCertificatesPem = pki.CertificatePem,
            DangerousEnableReplayableEarlyData = true,
        });
        (_, byte[] ticket) = await ConnectAsync(client, fleet.Ports[0], default, wantTicket: true);
        int accepted = 0, rejectedSame = 0, rejectedOther = 0;
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < Attempts; i++)
        {
            int first = i % Servers, other = (i + 1) % Servers;
            (SslEarlyDataStatus status, byte[] next) = await ConnectAsync(client, fleet.Ports[first], ticket, wantTicket: true);
            Assert.True(status == SslEarlyDataStatus.Accepted, $"attempt {i}: the first use was {status}");
            accepted++;
            // The replay: the very same ticket and early data, as an attacker who captured the flight resends it.
            (status, _) = await ConnectAsync(client, fleet.Ports[first], ticket, wantTicket: false);
            Assert.True(status == SslEarlyDataStatus.Rejected, $"attempt {i}: the replay to the same process was {status}");
            rejectedSame++;
            (status, _) = await ConnectAsync(client, fleet.Ports[other], ticket, wantTicket: false);
            Assert.True(status == SslEarlyDataStatus.Rejected, $"attempt {i}: the replay to another process was {status}");
            rejectedOther++;
            ticket = next;
        }
        output.WriteLine($"{Attempts} attempts over {Servers} fastsession serve processes sharing redis: first use accepted {accepted}, " +
            $"replay to the same process rejected {rejectedSame}, to another process rejected {rejectedOther} ({watch.Elapsed.TotalSeconds:0.0} s)");
        Assert.Equal(Attempts, accepted);
        Assert.Equal(Attempts, rejectedSame);
        Assert.Equal(Attempts, rejectedOther);
    }

    [Fact]
    public async Task RedisDown_EarlyDataIsRejected_NeverAcceptedBlindly_AndTheBytesStillArrive()
    {
        await using RedisServer redis = await RedisServer.StartNewAsync();
        await using ConnectionMultiplexer m = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location("d")).ToConfiguration());
        var guard = new RedisEarlyDataReplayGuard(m, "d", TimeSpan.FromMilliseconds(200));
        byte[] hash = new byte[32];
        hash[0] = 1;
        Assert.True(await guard.TryClaimAsync(hash, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.False(await guard.TryClaimAsync(hash, TimeSpan.FromMinutes(1), CancellationToken.None));

        using SslContext server = SslContext.CreateServer(new SslServerOptions
        {
            MinVersion = TlsVersion.Tls13,
            DangerousEnableReplayableEarlyData = true,
            EarlyDataReplayGuard = guard,
        });
        using SslContext client = SslContext.CreateClient(new SslClientOptions
        {
            MinVersion = TlsVersion.Tls13,
            TrustedCertificatesPem = server.GetCertificatePem(),
            DangerousEnableReplayableEarlyData = true,
        });
        var tcp = new TcpListener(IPAddress.Loopback, 0);
        tcp.Start();
        using var stop = new Stopping(tcp);
        byte[] ticket = (await InProcessAsync(tcp, client, server, default)).Ticket;
        (SslEarlyDataStatus up, SslEarlyDataReason _, byte[] next, string _) = await InProcessAsync(tcp, client, server, ticket);
        Assert.Equal(SslEarlyDataStatus.Accepted, up);

        await redis.StopAsync();
        (SslEarlyDataStatus down, SslEarlyDataReason reason, _, string received) = await InProcessAsync(tcp, client, server, next);
        Assert.Equal(SslEarlyDataStatus.Rejected, down);
        Assert.Equal(SslEarlyDataReason.ReplayGuardUnavailable, reason);
        Assert.Equal(Encoding.ASCII.GetString(Request), received); // resent after the handshake
        Assert.True(guard.Errors >= 1);
    }

    /// <summary>One connection to a serve process; with <paramref name="der"/> it resumes that ticket and sends early data.</summary>
    private static async Task<(SslEarlyDataStatus Status, byte[] Ticket)> ConnectAsync(SslContext context, int port, byte[]? der, bool wantTicket)
    {
        using var timeout = new CancellationTokenSource(Fleet.Timeout);
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", port, timeout.Token);
        await using var tls = new FastSslStream(tcp.GetStream());
        if (der is null)
        {
            await tls.AuthenticateAsClientAsync(context, "localhost", default, timeout.Token);
        }
        else
        {
            using SslSession session = SslSession.FromDer(der, context);
            await tls.AuthenticateAsClientAsync(context, "localhost", session, Request, timeout.Token);
        }
        byte[] ticket = [];
        if (wantTicket)
        {
            if (der is not null)
            {
                // serve echoes the early request at once (0.5-RTT, before the client's Finished); the ticket follows the echo.
                byte[] echo = new byte[Request.Length];
                for (int read = 0; read < echo.Length;)
                {
                    int n = await tls.ReadAsync(echo.AsMemory(read), timeout.Token);
                    Assert.NotEqual(0, n);
                    read += n;
                }
                Assert.Equal(Request, echo);
            }
            Assert.True(await tls.WaitForSessionTicketsAsync(Fleet.Timeout, 1, timeout.Token) >= 1);
            Assert.True(tls.Connection.TryTakeNewSession(out SslSession fresh));
            using (fresh)
            {
                ticket = fresh.ToDer();
            }
            while (tls.Connection.TryTakeNewSession(out SslSession extra))
            {
                extra.Dispose();
            }
        }
        SslEarlyDataStatus status = tls.EarlyDataStatus;
        await tls.ShutdownAsync(timeout.Token);
        return (status, ticket);
    }

    private static async Task<(SslEarlyDataStatus Status, SslEarlyDataReason Reason, byte[] Ticket, string Received)> InProcessAsync(
        TcpListener tcp, SslContext client, SslContext server, byte[]? der)
    {
        using var timeout = new CancellationTokenSource(Fleet.Timeout);
        var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        ValueTask<Socket> accept = tcp.AcceptSocketAsync(timeout.Token);
        await clientSocket.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)tcp.LocalEndpoint).Port, timeout.Token);
        var cs = new NetworkStream(clientSocket, ownsSocket: true);
        var ss = new NetworkStream(await accept, ownsSocket: true);
        await using var c = new FastSslStream(cs);
        await using var s = new FastSslStream(ss);
        Task serverSide = s.AuthenticateAsServerAsync(server, timeout.Token);
        if (der is null)
        {
            await c.AuthenticateAsClientAsync(client, "localhost", default, timeout.Token);
        }
        else
        {
            using SslSession session = SslSession.FromDer(der, client);
            await c.AuthenticateAsClientAsync(client, "localhost", session, Request, timeout.Token);
        }
        await serverSide;
        string received = "";
        if (der is not null)
        {
            byte[] buffer = new byte[Request.Length];
            int read = 0;
            while (read < buffer.Length)
            {
                int n = await s.ReadAsync(buffer.AsMemory(read), timeout.Token);
                Assert.NotEqual(0, n);
                read += n;
            }
            received = Encoding.ASCII.GetString(buffer);
        }
        Assert.True(await c.WaitForSessionTicketsAsync(Fleet.Timeout, 1, timeout.Token) >= 1);
        Assert.True(c.Connection.TryTakeNewSession(out SslSession fresh));
        byte[] ticket;
        using (fresh)
        {
            ticket = fresh.ToDer();
        }
        while (c.Connection.TryTakeNewSession(out SslSession extra))
        {
            extra.Dispose();
        }
        await c.ShutdownAsync(timeout.Token);
        return (s.EarlyDataStatus, s.EarlyDataReason, ticket, received);
    }

    private sealed class Stopping(TcpListener listener) : IDisposable
    {
        public void Dispose() => listener.Stop();
    }
}
