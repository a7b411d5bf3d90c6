using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Reliability;
using FastSession.Tests.Streams;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Misuse;

/// <summary>
/// TLS 1.3 early data's engine members (<see cref="SslConnection.WriteEarlyData"/>, <see cref="SslConnection.ReadEarlyData"/>,
/// <see cref="SslConnection.DecideEarlyData"/>, <see cref="SslConnection.WriteHalfRtt"/> and the getters) in wrong orders, on the wrong
/// role, on contexts without early data, after the handshake and after Dispose; and hostile peers: a client that sends more than the
/// server's limit, a client that hangs up in the middle of its 0-RTT flight. Real handshakes (memory engine, loopback sockets).
/// </summary>
public sealed class EarlyDataMisuseTests(ITestOutputHelper output) : StreamTest
{
    private static readonly byte[] Request = System.Text.Encoding.ASCII.GetBytes("GET /early HTTP/1.1\r\nHost: localhost\r\n\r\n");

    internal static SslContext EarlyServer(int maxEarlyData = 16384, SslEarlyDataPolicy? policy = null, ISslEarlyDataReplayGuard? guard = null) =>
        SslContext.CreateServer(new SslServerOptions
        {
            MinVersion = TlsVersion.Tls13,
            DangerousEnableReplayableEarlyData = true,
            MaxEarlyData = maxEarlyData,
            EarlyDataPolicy = policy,
            EarlyDataReplayGuard = guard,
        });

    internal static SslContext EarlyClient(bool earlyData = true) => SslContext.CreateClient(new SslClientOptions
    {
        MinVersion = TlsVersion.Tls13,
        DangerousAcceptAnyServerCertificate = true,
        DangerousEnableReplayableEarlyData = earlyData,
    });

    /// <summary>A full engine handshake with a clean close; the client's newest ticket.</summary>
    internal static SslSession Ticket(SslContext client, SslContext server)
    {
        var drive = new EngineDrive();
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        Assert.True(drive.Handshake(c, s));
        SslSession last = EngineDrive.TakeNewest(c);
        drive.CloseCleanly(c, s); // a clean close on both ends: the server keeps the (stateful, single-use) ticket
        return last;
    }

    /// <summary>An in-memory replay guard: the first claim of a ticket hash wins.</summary>
    internal sealed class MemoryGuard : ISslEarlyDataReplayGuard
    {
        private readonly ConcurrentDictionary<string, bool> _seen = new();

        public ValueTask<bool> TryClaimAsync(ReadOnlyMemory<byte> ticketHash, TimeSpan lifetime, CancellationToken cancellationToken) =>
            ValueTask.FromResult(_seen.TryAdd(Convert.ToHexString(ticketHash.Span), true));
    }

    [Fact]
    public void EngineZeroRtt_IsAccepted_AndReadBeforeTheClientFinished()
    {
        // The driver the hostile tests and the race build on: if it did not really run 0-RTT, they would prove little.
        using SslContext server = EarlyServer();
        using SslContext client = EarlyClient();
        using SslSession ticket = Ticket(client, server);
        Assert.Equal(16384u, ticket.Info.MaxEarlyData);
        var drive = new EngineDrive();
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        (int read, SslEarlyDataStatus status) = drive.ZeroRtt(c, s, ticket, Request, "HTTP/1.1 200 OK\r\n\r\n"u8);
        output.WriteLine($"read {read}, client {status} {c.EarlyDataReason}, server {s.EarlyDataStatus} {s.EarlyDataReason}, reused {c.SessionReused}/{s.SessionReused}");
        Assert.Equal(SslEarlyDataStatus.Accepted, status);
        Assert.Equal(Request.Length, read);
        Assert.True(c.IsHandshakeComplete && s.IsHandshakeComplete);
        Assert.True(s.IsEarlyDataFinished);
        Assert.False(s.IsInHalfRtt);
        Assert.Equal(SslEarlyDataReason.None, s.EarlyDataReason);
    }

    [Fact]
    public void WrongRoleWrongContextWrongTime_AreDocumentedExceptions()
    {
        using SslContext server = EarlyServer();
        using SslContext client = EarlyClient();
        using SslContext plainServer = SslContext.CreateServer(new SslServerOptions { MinVersion = TlsVersion.Tls13 });
        using SslContext plainClient = EarlyClient(earlyData: false);
        byte[] output = new byte[64 * 1024], plain = new byte[4096];

        using (SslConnection s = server.CreateConnection())
        using (SslConnection c = client.CreateConnection("localhost"))
        {
            Assert.Throws<InvalidOperationException>(() => s.WriteEarlyData(Request, output));
            Assert.Throws<InvalidOperationException>(() => c.ReadEarlyData(default, plain, output));
            Assert.Throws<ArgumentException>(() => s.ReadEarlyData(default, default, output));
            Assert.Throws<InvalidOperationException>(() => s.WriteHalfRtt(Request, output));
            Assert.Throws<InvalidOperationException>(() => c.WriteHalfRtt(Request, output));
            Assert.Throws<InvalidOperationException>(() => s.DecideEarlyData(true));
            Assert.Throws<InvalidOperationException>(() => c.DecideEarlyData(false));
            Assert.False(c.IsInHalfRtt);
            Assert.False(s.IsEarlyDataFinished);
            Assert.Equal(0, s.MaxEarlyDataToSend);
            // No session: nothing is written early, the handshake goes on as usual.
            SslIoResult none = c.WriteEarlyData(Request, output);
            Assert.Equal(0, none.PlaintextBytes);
            Assert.Equal(SslEarlyDataReason.NoSession, c.EarlyDataReason);
        }

        // Contexts without early data.
        using (SslConnection c = plainClient.CreateConnection("localhost"))
        {
            Assert.Throws<InvalidOperationException>(() => c.WriteEarlyData(Request, output));
        }
        using (SslConnection s = plainServer.CreateConnection())
        {
            // Documented: "early data not enabled" is an InvalidOperationException, and the connection stays usable (Reset works).
            Assert.Throws<InvalidOperationException>(() => s.ReadEarlyData(default, plain, output));
            s.Reset();
        }

        // After the handshake, after Handshake started the handshake, after Dispose.
        var drive = new EngineDrive();
        SslConnection cc = client.CreateConnection("localhost");
        SslConnection ss = server.CreateConnection();
        Assert.True(drive.Handshake(cc, ss));
        Assert.Throws<InvalidOperationException>(() => cc.WriteEarlyData(Request, output));
        Assert.Throws<InvalidOperationException>(() => ss.ReadEarlyData(default, plain, output));
        Assert.Throws<InvalidOperationException>(() => ss.WriteHalfRtt(Request, output));
        Assert.Throws<InvalidOperationException>(() => ss.DecideEarlyData(true));
        Assert.Equal(0, cc.MaxEarlyDataToSend);
        cc.Dispose();
        ss.Dispose();
        foreach (SslConnection gone in new[] { cc, ss })
        {
            // Documented either way: the role / "handshake already started" check may answer before the disposal check.
            Assert.ThrowsAny<InvalidOperationException>(() => gone.WriteEarlyData(Request, output));
            Assert.Throws<ObjectDisposedException>(() => _ = gone.EarlyDataStatus);
            Assert.Throws<ObjectDisposedException>(() => _ = gone.EarlyDataReason);
            Assert.Throws<ObjectDisposedException>(() => _ = gone.MaxEarlyDataToSend);
            Assert.Throws<ObjectDisposedException>(() => _ = gone.IsEarlyDataDecisionPending);
        }
        Assert.ThrowsAny<InvalidOperationException>(() => ss.ReadEarlyData(default, plain, output));
        Assert.Throws<ObjectDisposedException>(() => ss.DecideEarlyData(true));
    }

    public static TheoryData<string> PolicyAbuses => ["DecideEarlyData", "Dispose", "Reset", "Handshake", "ReadEarlyData", "WriteHalfRtt", "ProvideSession", "Getters"];

    private static bool AbusivePolicy(SslConnection c, string abuse)
    {
        byte[] buffer = new byte[4096];
        switch (abuse)
        {
            case "DecideEarlyData": c.DecideEarlyData(false, SslEarlyDataReason.Replayed); return true;
            case "Dispose": c.Dispose(); return true;
            case "Reset": c.Reset(); return true;
            case "Handshake": c.Handshake(default, buffer); return true;
            case "ReadEarlyData": c.ReadEarlyData(default, buffer, buffer); return true;
            case "WriteHalfRtt": c.WriteHalfRtt(buffer, buffer); return true;
            case "ProvideSession": c.ProvideSession(buffer); return true;
            default: _ = c.EarlyDataStatus; _ = c.IsEarlyDataDecisionPending; _ = c.IsInHalfRtt; _ = c.MaxEarlyDataToSend; return true;
        }
    }

    [Theory]
    [MemberData(nameof(PolicyAbuses))]
    public async Task APolicyThatDrivesItsOwnConnection_EndsDocumented_EngineAndStream(string abuse)
    {
        // The policy is user code handed the connection mid-handshake: whatever it calls on it, the engine call and the stream's
        // handshake work or end in a documented exception, and everything is freed.
        using SslContext server = EarlyServer(policy: c => AbusivePolicy(c, abuse));
        using SslContext client = EarlyClient();

        using (SslSession ticket = Ticket(client, server))
        {
            var drive = new EngineDrive();
            using SslConnection c = client.CreateConnection("localhost");
            using SslConnection s = server.CreateConnection();
            Exception? e = Record.Exception(() => drive.ZeroRtt(c, s, ticket, Request));
            output.WriteLine($"engine, policy calls {abuse}: {e?.GetType().Name ?? "works"}: {e?.Message} (status {(s.IsDisposed ? "disposed" : s.EarlyDataStatus.ToString())})");
            Assert.True(e is null or InvalidOperationException or SslHandshakeException or SslProtocolException, e?.ToString());
        }

        using (SslSession ticket = Ticket(client, server))
        {
            (Socket cs, Socket ss) = await Tcp.ConnectAsync(Token);
            await using var c = new FastSslStream(new NetworkStream(cs, ownsSocket: true));
            await using var s = new FastSslStream(new NetworkStream(ss, ownsSocket: true));
            Task serverSide = s.AuthenticateAsServerAsync(server, Token);
            Task clientSide = c.AuthenticateAsClientAsync(client, "localhost", ticket, Request, Token);
            Exception? e = await Record.ExceptionAsync(() => serverSide.WaitAsync(TimeSpan.FromSeconds(10)));
            output.WriteLine($"stream, policy calls {abuse}: {e?.GetType().Name ?? "works"}: {e?.Message}");
            Assert.True(e is null or ObjectDisposedException or SslHandshakeException or IOException or OperationCanceledException, e?.ToString());
            if (e is null)
            {
                byte[] got = new byte[Request.Length];
                int read = 0;
                while (read < got.Length)
                {
                    read += await s.ReadAsync(got.AsMemory(read), Token);
                }
                Assert.Equal(Request, got);
            }
            await s.DisposeAsync();
            await Record.ExceptionAsync(() => clientSide.WaitAsync(TimeSpan.FromSeconds(10)));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ASecondAuthenticateWithEarlyData_IsRefused_AndDoesNotChangeWhatTheFirstSends(bool accept)
    {
        // The second call is refused (InvalidOperationException: already authenticating); the first handshake must still deliver
        // exactly its own early bytes, whether the server accepts them or they are written again after the handshake.
        using SslContext server = EarlyServer(policy: _ => accept);
        using SslContext client = EarlyClient();
        using SslSession ticket = Ticket(client, server);
        byte[] first = System.Text.Encoding.ASCII.GetBytes("GET /first HTTP/1.1\r\nHost: a\r\n\r\n");
        byte[] second = new byte[first.Length * 2];
        Array.Fill(second, (byte)'X');
        (Socket cs, Socket ss) = await Tcp.ConnectAsync(Token);
        await using var c = new FastSslStream(new NetworkStream(cs, ownsSocket: true));
        await using var s = new FastSslStream(new NetworkStream(ss, ownsSocket: true));
        Task clientSide = c.AuthenticateAsClientAsync(client, "localhost", ticket, first, Token);
        Exception? refused = await Record.ExceptionAsync(() => c.AuthenticateAsClientAsync(client, "localhost", ticket, second, Token));
        Assert.IsType<InvalidOperationException>(refused);
        await Task.WhenAll(s.AuthenticateAsServerAsync(server, Token), clientSide).WaitAsync(Timeout);
        byte[] got = new byte[first.Length];
        int read = 0;
        while (read < got.Length)
        {
            int n = await s.ReadAsync(got.AsMemory(read), Token);
            Assert.NotEqual(0, n);
            read += n;
        }
        Assert.Equal(accept ? SslEarlyDataStatus.Accepted : SslEarlyDataStatus.Rejected, s.EarlyDataStatus);
        Assert.Equal(System.Text.Encoding.ASCII.GetString(first), System.Text.Encoding.ASCII.GetString(got));
        await c.ShutdownAsync(Token);
        Assert.Equal(0, await s.ReadAsync(new byte[16], Token)); // nothing else arrived: no byte of the refused call
    }

    [Theory]
    [InlineData(StoreBehavior.Honest)]
    [InlineData(StoreBehavior.Random)]
    public void StoreServerWithEarlyData_ReadsEarlyDataThroughTheStoreLookup(StoreBehavior behavior)
    {
        // A store and early data without a policy may be combined: OpenSSL's single-use (stateful) tickets then live in the store, and
        // ReadEarlyData pauses for the store's lookup (NeedsSessionLookup without a pending decision). A lying store costs the early data.
        var store = new HostileServerStore(StoreBehavior.Honest);
        using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = TlsVersion.Tls13, EnableTickets = false, DangerousEnableReplayableEarlyData = true });
        server.ServerSessionLookupTimeout = TimeSpan.FromMilliseconds(20);
        server.UseServerSessionStore(store);
        using SslContext client = EarlyClient();
        int accepted = 0;
        for (int i = 0; i < 8; i++)
        {
            store.Behavior = StoreBehavior.Honest;
            using SslSession ticket = Ticket(client, server);
            store.Behavior = behavior;
            var drive = new EngineDrive();
            using SslConnection c = client.CreateConnection("localhost");
            using SslConnection s = server.CreateConnection();
            (int read, SslEarlyDataStatus status) = drive.ZeroRtt(c, s, ticket, Request);
            Assert.True(read >= 0, $"{behavior}: the 0-RTT handshake failed ({server.ServerSessionCacheCounters})");
            Assert.True(c.IsHandshakeComplete && s.IsHandshakeComplete);
            accepted += status == SslEarlyDataStatus.Accepted ? 1 : 0;
            output.WriteLine($"round {i}: read {read}, {status} ({s.EarlyDataReason}), resumed {s.SessionReused}");
            Assert.Equal(status == SslEarlyDataStatus.Accepted ? Request.Length : 0, read);
        }
        output.WriteLine($"{behavior}: {accepted} of 8 accepted; {server.ServerSessionCacheCounters}");
        if (behavior == StoreBehavior.Honest)
        {
            Assert.Equal(8, server.ServerSessionCacheCounters.Hits);
            Assert.Equal(8, accepted); // resumed from the store's session, and the early data read before the client's Finished
        }
    }

    [Theory]
    [InlineData(-1.0)] // Timeout.InfiniteTimeSpan: a guard that never answers would hold the handshake (and its connection) forever
    [InlineData(-5_000.0)]
    [InlineData(double.MaxValue)]
    [InlineData(3_000_000_000.0)]
    [InlineData(61_000.0)]
    public void ReplayGuardTimeout_ThatCouldHangOrBreakTheHandshake_IsRefused(double milliseconds)
    {
        TimeSpan timeout = milliseconds == double.MaxValue ? TimeSpan.MaxValue : TimeSpan.FromMilliseconds(milliseconds);
        var options = new SslServerOptions
        {
            MinVersion = TlsVersion.Tls13,
            DangerousEnableReplayableEarlyData = true,
            EarlyDataReplayGuard = new MemoryGuard(),
            EarlyDataReplayGuardTimeout = timeout,
        };
        Assert.Throws<ArgumentOutOfRangeException>(() => SslContext.CreateServer(options).Dispose());
    }

    [Fact]
    public async Task ReplayGuardThatNeverAnswers_RejectsTheEarlyData_WithinItsTimeout()
    {
        using SslContext server = SslContext.CreateServer(new SslServerOptions
        {
            MinVersion = TlsVersion.Tls13,
            DangerousEnableReplayableEarlyData = true,
            EarlyDataReplayGuard = new SilentGuard(),
            EarlyDataReplayGuardTimeout = TimeSpan.FromMilliseconds(100),
        });
        using SslContext client = EarlyClient();
        using SslSession ticket = Ticket(client, server);
        (Socket cs, Socket ss) = await Tcp.ConnectAsync(Token);
        await using var c = new FastSslStream(new NetworkStream(cs, ownsSocket: true));
        await using var s = new FastSslStream(new NetworkStream(ss, ownsSocket: true));
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(s.AuthenticateAsServerAsync(server, Token), c.AuthenticateAsClientAsync(client, "localhost", ticket, Request, Token)).WaitAsync(Timeout);
        byte[] buffer = new byte[Request.Length];
        int read = 0;
        while (read < buffer.Length)
        {
            read += await s.ReadAsync(buffer.AsMemory(read), Token);
        }
        Assert.Equal(SslEarlyDataStatus.Rejected, s.EarlyDataStatus);
        Assert.Equal(SslEarlyDataReason.ReplayGuardUnavailable, s.EarlyDataReason);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), watch.Elapsed.ToString());
    }

    /// <summary>A replay guard whose claims never complete and ignore cancellation.</summary>
    private sealed class SilentGuard : ISslEarlyDataReplayGuard
    {
        public ValueTask<bool> TryClaimAsync(ReadOnlyMemory<byte> ticketHash, TimeSpan lifetime, CancellationToken cancellationToken) =>
            new(new TaskCompletionSource<bool>().Task);
    }

    [Fact]
    public void AfterEarlyData_ResetIsRefused_AndTheEarlyPhaseCannotBeReplayed()
    {
        using SslContext server = EarlyServer(policy: _ => true);
        using SslContext client = EarlyClient();
        using SslSession ticket = Ticket(client, server);
        var drive = new EngineDrive();
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        c.SetSession(ticket);
        // Twice before the handshake goes on: both are part of the one early flight, together at most the ticket's limit.
        int first = c.WriteEarlyData(Request, drive.ToServer).OutputBytes;
        SslIoResult second = c.WriteEarlyData(Request, drive.ToServer.AsSpan(first));
        Assert.Equal(Request.Length, second.PlaintextBytes);
        Assert.Equal(16384 - 2 * Request.Length, c.MaxEarlyDataToSend);
        Assert.Throws<InvalidOperationException>(() => c.Reset("localhost"));
        Assert.Throws<InvalidOperationException>(() => c.ReadEarlyData(default, drive.Plain, drive.ToClient));
        SslIoResult r = s.ReadEarlyData(drive.ToServer.AsSpan(0, first + second.OutputBytes), drive.Plain, drive.ToClient);
        Assert.Equal(2 * Request.Length, r.PlaintextBytes); // the policy decided inside the call
        Assert.Throws<InvalidOperationException>(() => s.DecideEarlyData(false)); // decided already
        Assert.Throws<InvalidOperationException>(() => s.Reset());
        Assert.Throws<InvalidOperationException>(() => s.WriteEarlyData(Request, drive.ToClient));
        Assert.True(s.IsInHalfRtt);
        Assert.True(s.WriteHalfRtt("half"u8, drive.ToClient.AsSpan(r.OutputBytes)).PlaintextBytes == 4);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ClientSendingMoreThanTheServerAllows_FailsThatHandshakeOnly(bool allow)
    {
        // Two servers share ticket keys (and a replay guard, so tickets are stateless); the second allows only 64 bytes of early data,
        // the ticket from the first promises 16384. A client that trusts the ticket sends 4096: the second server must fail that
        // handshake with a documented outcome (Failed / SslHandshakeException), accepted or not, and serve the next connection.
        using var ring = new TicketKeyRing();
        using (TicketKey key = TicketKey.Generate())
        {
            ring.Install([key]);
        }
        var guard = new MemoryGuard();
        using SslContext generous = EarlyServer(16384, guard: guard);
        using SslContext strict = EarlyServer(64, guard: guard);
        generous.UseTicketKeys(ring);
        strict.UseTicketKeys(ring);
        using SslContext client = EarlyClient();
        for (int round = 0; round < 3; round++)
        {
            using SslSession ticket = Ticket(client, generous);
            Assert.Equal(16384u, ticket.Info.MaxEarlyData);
            var drive = new EngineDrive { Allow = allow };
            using SslConnection c = client.CreateConnection("localhost");
            using SslConnection s = strict.CreateConnection();
            byte[] big = new byte[4096];
            (int read, _) = drive.ZeroRtt(c, s, ticket, big);
            output.WriteLine($"allow {allow}: server read {read}, faulted {s.IsFaulted}, status {s.EarlyDataStatus}");
            Assert.Equal(-1, read);
            Assert.True(s.IsFaulted);
            Assert.Throws<InvalidOperationException>(() => s.ReadEarlyData(default, drive.Plain, drive.ToClient));
            Assert.Throws<InvalidOperationException>(() => s.Handshake(default, drive.ToClient));
        }
        // The strict server still serves a well-behaved client.
        using SslSession own = Ticket(client, strict);
        Assert.Equal(64u, own.Info.MaxEarlyData);
        var ok = new EngineDrive();
        using SslConnection c2 = client.CreateConnection("localhost");
        using SslConnection s2 = strict.CreateConnection();
        (int early, SslEarlyDataStatus status) = ok.ZeroRtt(c2, s2, own, new byte[4096]);
        Assert.Equal(SslEarlyDataStatus.Accepted, status);
        Assert.Equal(64, early);
    }

    [Theory]
    [InlineData(0)] // the ClientHello only
    [InlineData(1)] // the ClientHello and part of the early-data record
    [InlineData(2)] // the whole flight, then the transport ends before EndOfEarlyData and Finished
    public async Task PeerHangingUpMidZeroRtt_EndsTheServerStreamWithADocumentedException(int cut)
    {
        using SslContext server = EarlyServer();
        using SslContext client = EarlyClient();
        for (int round = 0; round < 4; round++)
        {
            using SslSession ticket = Ticket(client, server); // single use, and spoilt by the unclean end below
            (Socket cs, Socket ss) = await Tcp.ConnectAsync(Token);
            await using var serverStream = new FastSslStream(new NetworkStream(ss, ownsSocket: true));
            Task authenticate = serverStream.AuthenticateAsServerAsync(server, Token);
            using (cs)
            using (SslConnection c = client.CreateConnection("localhost"))
            {
                byte[] flight = new byte[64 * 1024];
                c.SetSession(ticket);
                byte[] early = new byte[2000];
                int n = c.WriteEarlyData(early, flight).OutputBytes;
                int helloLength = 5 + ((flight[3] << 8) | flight[4]);
                int send = cut switch { 0 => helloLength, 1 => helloLength + 5 + 100, _ => n };
                await cs.SendAsync(flight.AsMemory(0, Math.Min(send, n)), SocketFlags.None, Token);
                cs.Shutdown(SocketShutdown.Both);
            }
            var watch = Stopwatch.StartNew();
            Exception? e = await Record.ExceptionAsync(async () =>
            {
                await authenticate.WaitAsync(TimeSpan.FromSeconds(10));
                // Accepted early data authenticates the server in 0.5-RTT: the failure comes with the next read.
                byte[] buffer = new byte[4096];
                while (await serverStream.ReadAsync(buffer, Token).AsTask().WaitAsync(TimeSpan.FromSeconds(10)) > 0)
                {
                }
                throw new InvalidOperationException("the stream ended cleanly although the client never finished its handshake");
            });
            output.WriteLine($"cut {cut}: {e?.GetType().Name}: {e?.Message} after {watch.ElapsedMilliseconds} ms");
            Assert.True(e is SslHandshakeException or IOException, e?.ToString());
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
        }
    }
}
