using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using FastSession.Tests.Streams;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.EarlyData;

/// <summary>
/// The issue's latency target: a resumed request with early data, over loopback with an added round trip (a delaying TCP proxy
/// this test runs), is answered one round trip sooner than the same resumed request sent after the handshake. The server answers
/// the early request in 0.5-RTT (before the client's Finished) and still completes the handshake before its close, so every
/// connection leaves a fresh ticket for the next one (a ticket with early data is single use).
/// </summary>
public sealed class EarlyDataLatencyTests : StreamTest
{
    private static readonly byte[] Request = Encoding.ASCII.GetBytes("GET /early HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    private static readonly byte[] Response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");

    // 10 ms each way: the issue's "added 20 ms RTT". FASTSESSION_EARLYDATA_DELAY_MS changes the one-way delay.
    private static readonly int OneWayDelayMs = int.TryParse(Environment.GetEnvironmentVariable("FASTSESSION_EARLYDATA_DELAY_MS"), out int ms) && ms > 0 ? ms : 10;
    private const int Rounds = 10;

    private readonly ITestOutputHelper _output;

    public EarlyDataLatencyTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task ResumedRequestWithEarlyData_IsAnsweredOneRoundTripSooner_P50()
    {
        using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = TlsVersion.Tls13, DangerousEnableReplayableEarlyData = true });
        using SslContext client = SslContext.CreateClient(new SslClientOptions
        {
            MinVersion = TlsVersion.Tls13,
            TrustedCertificatesPem = server.GetCertificatePem(),
            DangerousEnableReplayableEarlyData = true,
        });
        SslSession ticket = (await RequestAsync(client, server, default, early: false, shutdown: true)).Ticket; // full handshake
        var withEarly = new List<double>();
        var without = new List<double>();
        try
        {
            // Alternating, so drift in the machine's load hits both the same; one warm-up round of each first.
            for (int i = -1; i < Rounds; i++)
            {
                foreach (bool early in new[] { true, false })
                {
                    (double ms, SslSession next, SslEarlyDataStatus status, bool reused) = await RequestAsync(client, server, ticket, early, shutdown: i % 2 == 0);
                    ticket.Dispose();
                    ticket = next;
                    Assert.True(reused, "every measured request resumes");
                    Assert.Equal(early ? SslEarlyDataStatus.Accepted : SslEarlyDataStatus.NotSent, status);
                    if (i >= 0)
                    {
                        (early ? withEarly : without).Add(ms);
                    }
                }
            }
        }
        finally
        {
            ticket.Dispose();
        }
        double rtt = 2.0 * OneWayDelayMs;
        double p50Early = Median(withEarly), p50Without = Median(without);
        _output.WriteLine($"added RTT {rtt} ms, {Rounds} rounds each: p50 with early data {p50Early:F1} ms, without {p50Without:F1} ms, saved {p50Without - p50Early:F1} ms");
        _output.WriteLine($"with early data: {string.Join(" ", withEarly.Select(x => x.ToString("F1")))}");
        _output.WriteLine($"without:         {string.Join(" ", without.Select(x => x.ToString("F1")))}");
        // Theory: 1 RTT with early data (ClientHello + request, server flight + answer), 2 without. At least half an RTT saved:
        // the half leaves room for scheduling noise on a loaded machine while still failing if the answer waited for the
        // client's Finished (that saves nothing).
        Assert.True(p50Without - p50Early >= rtt / 2, $"p50 with early data {p50Early:F1} ms, without {p50Without:F1} ms: expected at least {rtt / 2} ms saved");
    }

    /// <summary>One connection through the delaying proxy: the request (early when asked), the answer timed, then the ticket.</summary>
    private async Task<(double Ms, SslSession Ticket, SslEarlyDataStatus Status, bool Reused)> RequestAsync(SslContext clientContext, SslContext serverContext, SslSession resume, bool early, bool shutdown)
    {
        (Socket cs, Socket proxyIn) = await Tcp.ConnectAsync(Token);
        (Socket proxyOut, Socket ss) = await Tcp.ConnectAsync(Token);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);
        Task proxy = Task.WhenAll(DelayAsync(proxyIn, proxyOut, stop.Token), DelayAsync(proxyOut, proxyIn, stop.Token));
        Task serverSide = ServeOneAsync(new FastSslStream(new NetworkStream(ss, ownsSocket: true)), serverContext, shutdown);
        try
        {
            await using var c = new FastSslStream(new NetworkStream(cs, ownsSocket: true));
            long start = Stopwatch.GetTimestamp();
            if (resume.IsNone)
            {
                await c.AuthenticateAsClientAsync(clientContext, "localhost", default, Token);
                await c.WriteAsync(Request, Token);
            }
            else if (early)
            {
                await c.AuthenticateAsClientAsync(clientContext, "localhost", resume, Request, Token);
            }
            else
            {
                await c.AuthenticateAsClientAsync(clientContext, "localhost", resume, Token);
                await c.WriteAsync(Request, Token);
            }
            byte[] buffer = new byte[Response.Length];
            int read = 0;
            while (read < buffer.Length)
            {
                int n = await c.ReadAsync(buffer.AsMemory(read), Token);
                Assert.NotEqual(0, n);
                read += n;
            }
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            Assert.Equal(Response, buffer);
            // The server completes the handshake before it closes: the ticket arrives, then its close_notify.
            Assert.Equal(0, await c.ReadAsync(new byte[16], Token));
            Assert.True(c.Connection.TryTakeNewSession(out SslSession ticket), "the server sent a ticket before closing");
            while (c.Connection.TryTakeNewSession(out SslSession extra))
            {
                extra.Dispose();
            }
            await serverSide.WaitAsync(Timeout);
            return (ms, ticket, c.EarlyDataStatus, c.SessionReused);
        }
        finally
        {
            await stop.CancelAsync();
            proxyIn.Dispose();
            proxyOut.Dispose();
            await Task.WhenAny(proxy, Task.Delay(Timeout));
            await Task.WhenAny(serverSide, Task.Delay(Timeout));
        }
    }

    /// <summary>Reads a request (early data first), answers at once, closes (ShutdownAsync, or DisposeAsync alone as hosts do): the close completes the handshake and sends the tickets.</summary>
    private async Task ServeOneAsync(FastSslStream s, SslContext serverContext, bool shutdown)
    {
        await using (s)
        {
            await s.AuthenticateAsServerAsync(serverContext, Token);
            byte[] buffer = new byte[Request.Length];
            int read = 0;
            while (read < buffer.Length)
            {
                int n = await s.ReadAsync(buffer.AsMemory(read), Token);
                Assert.NotEqual(0, n);
                read += n;
            }
            await s.WriteAsync(Response, Token);
            if (shutdown)
            {
                await s.ShutdownAsync(Token);
            }
        }
    }

    /// <summary>Forwards <paramref name="from"/> to <paramref name="to"/>, each chunk <see cref="OneWayDelayMs"/> after it arrived (pipelined, in order).</summary>
    private static async Task DelayAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var queue = Channel.CreateUnbounded<(byte[] Data, long Due)>();
        Task writer = Task.Run(async () =>
        {
            await foreach ((byte[] data, long due) in queue.Reader.ReadAllAsync(cancellationToken))
            {
                TimeSpan wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }
                if (data.Length == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                await to.SendAsync(data, SocketFlags.None, cancellationToken);
            }
        }, cancellationToken);
        try
        {
            byte[] buffer = new byte[64 * 1024];
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                long due = Stopwatch.GetTimestamp() + (long)(OneWayDelayMs * (Stopwatch.Frequency / 1000.0));
                queue.Writer.TryWrite((buffer.AsSpan(0, n).ToArray(), due));
                if (n == 0)
                {
                    break;
                }
            }
            queue.Writer.TryComplete();
            await writer;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The test ended the connection.
        }
    }

    private static double Median(List<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
