using System;
using FastSession.Tests.Infrastructure;
using Xunit;
using static FastSession.FastSessionTelemetry;

namespace FastSession.Tests.Observability;

/// <summary>
/// The <c>FastSession</c> meter over real handshakes: exact counts of tickets sent and received, sessions captured,
/// ticket decrypt statuses, live objects; and no allocation per handshake while nobody listens.
/// </summary>
public sealed class MeterTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Fact]
    public void Tls13_CountsEveryTicketSentReceivedAndCaptured_AndTheResumedTicketDecrypted()
    {
        using var metrics = new MetricRecorder();
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 3);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        long sent = metrics.Observe(TicketsSent), received = metrics.Observe(TicketsReceived), captured = metrics.Observe(SessionsCaptured);
        long decrypted = metrics.Observe(TicketDecryptions, (TicketStatusTag, "decrypted_renew")) + metrics.Observe(TicketDecryptions, (TicketStatusTag, "decrypted"));

        SslSession first = Tls.ConnectAndCaptureLast(client, server, _pipe);
        SslSession second = Tls.ConnectAndCaptureLast(client, server, _pipe, resumeWith: first);
        first.Dispose();
        second.Dispose();

        // OpenSSL sends SSL_CTX_set_num_tickets tickets after a full handshake and one after a resumption.
        Assert.Equal(sent + 4, metrics.Observe(TicketsSent));
        Assert.Equal(received + 4, metrics.Observe(TicketsReceived));
        // Both sides capture: the client every ticket it receives, the server every session it issues (SessionEstablished fires on servers).
        Assert.Equal(captured + 8, metrics.Observe(SessionsCaptured));
        Assert.Equal(decrypted + 1, metrics.Observe(TicketDecryptions, (TicketStatusTag, "decrypted_renew")) + metrics.Observe(TicketDecryptions, (TicketStatusTag, "decrypted")));
        Assert.Equal(1, metrics.Sum(Handshakes, (SideTag, "client"), (ResumptionOutcomeTag, "resumed")));
        Assert.Equal(2, metrics.Sum(Handshakes, (SideTag, "server")));
    }

    [Fact]
    public void Tls12WithSessionIds_CapturesSessionsWithoutTickets()
    {
        using var metrics = new MetricRecorder();
        using SslContext server = Tls.Server(TlsVersion.Tls12, tickets: false);
        using SslContext client = Tls.Client(TlsVersion.Tls12, tickets: false);
        long sent = metrics.Observe(TicketsSent), received = metrics.Observe(TicketsReceived), captured = metrics.Observe(SessionsCaptured);

        Tls.ConnectAndCaptureLast(client, server, _pipe).Dispose();

        Assert.Equal(sent, metrics.Observe(TicketsSent));
        Assert.Equal(received, metrics.Observe(TicketsReceived));
        Assert.Equal(captured + 2, metrics.Observe(SessionsCaptured)); // the client's session and the server's cache entry
    }

    [Fact]
    public void ObserveStructs_HaveTheShimsLayout()
    {
        Assert.Equal(System.Runtime.CompilerServices.Unsafe.SizeOf<global::FastSession.Interop.FsObserveCounts>(),
            global::FastSession.Interop.ObserveNative.GetObserveStructSize(global::FastSession.Interop.ShimTicketStatus.StructObserveCounts));
        Assert.Equal(System.Runtime.CompilerServices.Unsafe.SizeOf<global::FastSession.Interop.FsResumptionInfo>(),
            global::FastSession.Interop.ObserveNative.GetObserveStructSize(global::FastSession.Interop.ShimTicketStatus.StructResumptionInfo));
        Assert.Equal(-1, global::FastSession.Interop.ObserveNative.GetObserveStructSize(2));
    }

    [Fact]
    public void LiveObjectCounters_AreTheShimsCounts()
    {
        using var metrics = new MetricRecorder();
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);

        LiveObjectCounts now = LiveObjectCounts.Current;
        Assert.Equal(now.Contexts, metrics.Observe(LiveContexts));
        Assert.Equal(now.Connections, metrics.Observe(LiveConnections));
        Assert.Equal(now.Sessions, metrics.Observe(LiveSessions));
        Assert.Equal(now.Certificates, metrics.Observe(LiveCertificates));
        Assert.True(now.Connections >= 2);
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void FatalErrorAfterTheHandshake_CountsAnInvalidationAsFatalError()
    {
        using var metrics = new MetricRecorder();
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            _pipe.Handshake(c, s);
            byte[] garbage = new byte[64];
            garbage.AsSpan().Fill(0x17);
            garbage[1] = 3;
            garbage[2] = 3;
            garbage[3] = 0;
            garbage[4] = 59; // an application-data record that cannot be authenticated: bad record MAC
            SslIoResult result = s.Read(garbage, new byte[1024], new byte[1024]);
            Assert.Equal(SslStatus.Failed, result.Status);
        }
        Assert.Equal(1, metrics.Sum(SessionsInvalidated, (SideTag, "server"), (InvalidationReasonTag, "fatal_error")));
        Assert.Equal(1, metrics.Sum(SessionsInvalidated, (SideTag, "client"), (InvalidationReasonTag, "unclean_close")));
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void ResumedHandshakesWithResetReuse_AllocateNothing_WhenNobodyListens(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        try
        {
            Resume(c, s, ref session, 20); // warm-up: JIT, pools, static instruments

            long before = GC.GetAllocatedBytesForCurrentThread();
            int resumed = Resume(c, s, ref session, 50);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(50, resumed);
            Assert.Equal(0, allocated);
        }
        finally
        {
            session.Dispose();
        }
    }

    [Fact]
    public void ResumedHandshakes_AreAllRecorded_WhileAListenerListens()
    {
        using var metrics = new MetricRecorder();
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        Resume(c, s, ref session, 20);
        metrics.Clear();

        long before = GC.GetAllocatedBytesForCurrentThread();
        int resumed = Resume(c, s, ref session, 50);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        session.Dispose();

        Assert.Equal(50, resumed);
        Assert.Equal(50, metrics.Sum(Handshakes, (SideTag, "client"), (ResumptionOutcomeTag, "resumed")));
        Assert.Equal(50, metrics.Sum(Handshakes, (SideTag, "server"), (ResumptionOutcomeTag, "resumed")));
        Assert.Equal(50, metrics.Of(HandshakeDuration, (SideTag, "client"), (ResumedTag, true)).Count);
        // A loose bound: the recorder copies every measurement's tags into a dictionary (its own allocations).
        Assert.True(allocated < 200 * 1024, $"{allocated} B");
    }

    // TLS 1.3: each resumption uses the newest ticket once (OpenSSL marks a used TLS 1.3 session non-resumable, S9),
    // so `current` moves on to the newest ticket; TLS 1.2: the same session again. Every handshake must resume.
    private int Resume(SslConnection c, SslConnection s, ref SslSession current, int count)
    {
        int resumed = 0;
        for (int i = 0; i < count; i++)
        {
            c.SetSession(current);
            _pipe.Handshake(c, s);
            if (c.ResumptionOutcome == SslResumptionOutcome.Resumed && s.ResumptionOutcome == SslResumptionOutcome.Resumed)
            {
                resumed++;
            }
            _pipe.Shutdown(c, s);
            while (c.TryTakeNewSession(out SslSession ticket))
            {
                current.Dispose();
                current = ticket;
            }
            c.Reset();
            s.Reset();
        }
        return resumed;
    }
}
