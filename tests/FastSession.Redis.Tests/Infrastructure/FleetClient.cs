using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Redis.Tests.Infrastructure;

/// <summary>
/// A client of the fleet on FastSession's own stream: before each connection it takes a session from the shared store,
/// after it (and after the TLS 1.3 tickets) it puts every new session back. Reports offered / reused per connection.
/// </summary>
public sealed class FleetClient : IDisposable
{
    public static readonly SslSessionCacheKey Service = new("localhost", 443);
    private readonly ConcurrentQueue<SslSession> _received = new();

    public FleetClient(TlsVersion version, ISslSessionStore store)
    {
        Store = store;
        Context = SslContext.CreateClient(new SslClientOptions { MinVersion = version, MaxVersion = version });
        Context.SessionEstablished = (_, session) => _received.Enqueue(session);
    }

    public SslContext Context { get; }

    public ISslSessionStore Store { get; }

    /// <summary>Milliseconds per store take (the Redis round trip on the connection path).</summary>
    public List<double> TakeTimes { get; } = new();

    /// <summary>Milliseconds from the take to the end of the handshake (TLS 1.3: including the wait for a ticket).</summary>
    public List<double> ResumedHandshakeTimes { get; } = new();

    public List<double> FullHandshakeTimes { get; } = new();

    public static string Percentiles(List<double> values)
    {
        if (values.Count == 0)
        {
            return "n/a";
        }
        double[] sorted = values.OrderBy(static v => v).ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"p50 {At(0.5):0.00} ms, p99 {At(0.99):0.00} ms (n={sorted.Length})");
    }

    public async Task<(bool Offered, bool Reused)> ConnectAsync(int port, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Fleet.Timeout);
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        long start = Stopwatch.GetTimestamp();
        SslSession offered = await Store.TakeAsync(Service, Context, timeout.Token);
        long took = Stopwatch.GetTimestamp();
        TakeTimes.Add(Stopwatch.GetElapsedTime(start, took).TotalMilliseconds);
        await using var tls = new FastSslStream(tcp.GetStream());
        using (offered)
        {
            await tls.AuthenticateAsClientAsync(Context, "localhost", offered, timeout.Token);
        }
        await tls.WaitForSessionTicketsAsync(TimeSpan.FromSeconds(2), 1, timeout.Token);
        bool reused = tls.SessionReused;
        (reused ? ResumedHandshakeTimes : FullHandshakeTimes).Add(Stopwatch.GetElapsedTime(took).TotalMilliseconds);
        byte[] ping = "ping\n"u8.ToArray();
        await tls.WriteAsync(ping, timeout.Token);
        byte[] echo = new byte[ping.Length];
        int got = 0;
        while (got < echo.Length)
        {
            int n = await tls.ReadAsync(echo.AsMemory(got), timeout.Token);
            if (n == 0)
            {
                throw new InvalidOperationException("The server closed before echoing.");
            }
            got += n;
        }
        await tls.ShutdownAsync(timeout.Token);
        while (_received.TryDequeue(out SslSession session))
        {
            using (session)
            {
                await Store.AddAsync(Service, session, timeout.Token);
            }
        }
        return (!offered.IsNone, reused);
    }

    public void Dispose()
    {
        Context.SessionEstablished = null;
        while (_received.TryDequeue(out SslSession session))
        {
            session.Dispose();
        }
        Context.Dispose();
    }
}
