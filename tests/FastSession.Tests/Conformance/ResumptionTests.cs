using System;
using System.Collections.Generic;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Conformance;

/// <summary>
/// S4–S8: the session holds what is needed to resume; TLS 1.3 sessions become resumable only with a
/// ticket; several tickets per connection, all delivered by the new-session callback; unclean shutdown
/// makes the session non-resumable.
/// </summary>
public sealed class ResumptionTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Theory]
    [InlineData(TlsVersion.Tls12, true)]   // TLS 1.2 with a ticket
    [InlineData(TlsVersion.Tls12, false)]  // TLS 1.2 by session id (SSL_OP_NO_TICKET)
    [InlineData(TlsVersion.Tls13, true)]   // TLS 1.3 ticket
    public void S4_SetSessionBeforeTheHandshake_ResumesWithoutAFullHandshake(TlsVersion version, bool tickets)
    {
        using SslContext server = Tls.Server(version, tickets: tickets);
        using SslContext client = Tls.Client(version, tickets: tickets);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        Assert.True(session.IsResumable);
        Assert.Equal(tickets, session.Info.HasTicket);

        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        c.SetSession(session);
        _pipe.Handshake(c, s);

        Assert.True(c.SessionReused);
        Assert.True(s.SessionReused);
        Assert.Equal(version, c.Protocol);
        _pipe.Shutdown(c, s);
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void S4_WithoutSetSession_TheHandshakeIsFull(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        using SslSession unused = Tls.ConnectAndCaptureLast(client, server, _pipe);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();

        _pipe.Handshake(c, s);

        Assert.False(c.SessionReused);
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void S5_Tls13SessionTakenBeforeTheTicket_IsNotResumable_AndSetSessionRefusesIt()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        byte[] toServer = new byte[65536], toClient = new byte[65536];

        // Drive the handshake by hand and stop as soon as the client finishes: the server's tickets are
        // still in flight, so the client's session is the ticket-less one the manual page warns about.
        SslIoResult r = c.Handshake(default, toServer);
        int toServerLength = r.OutputBytes;
        r = s.Handshake(toServer.AsSpan(0, toServerLength), toClient);
        r = c.Handshake(toClient.AsSpan(0, r.OutputBytes), toServer);
        Assert.True(r.IsCompleted);

        Assert.True(c.TryAcquireSession(out SslSession early));
        using (early)
        {
            Assert.False(early.IsResumable);
            Assert.True(c.TryBorrowSession(out SslSessionRef view));
            Assert.False(view.IsResumable);
            using SslConnection other = client.CreateConnection("localhost");
            ArgumentException e = Assert.Throws<ArgumentException>(() => other.SetSession(early));
            Assert.Contains("not resumable", e.Message, StringComparison.Ordinal);
        }

        // Once the server's Finished processing sends the tickets and the client reads them, the
        // sessions it captures are resumable.
        r = s.Handshake(toServer.AsSpan(0, r.OutputBytes), toClient);
        Assert.True(r.IsCompleted);
        r = c.Read(toClient.AsSpan(0, r.OutputBytes), new byte[256], toServer);
        Assert.True(c.TryTakeNewSession(out SslSession ticket));
        using (ticket)
        {
            Assert.True(ticket.IsResumable);
            Assert.True(ticket.Info.HasTicket);
        }
        while (c.TryTakeNewSession(out SslSession more))
        {
            more.Dispose();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void S6_S7_EveryTls13Ticket_IsDeliveredByTheNewSessionCallback(int ticketCount)
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: ticketCount);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        var delivered = new List<SslSession>();
        client.SessionEstablished = (connection, session) => delivered.Add(session);
        try
        {
            using SslConnection c = client.CreateConnection("localhost");
            using SslConnection s = server.CreateConnection();
            _pipe.Handshake(c, s);

            Assert.Equal(ticketCount, delivered.Count);
            var ids = new HashSet<SslSessionId>();
            foreach (SslSession session in delivered)
            {
                Assert.True(session.IsResumable);
                Assert.True(session.Info.HasTicket);
                ids.Add(session.Id);
            }
            Assert.Equal(ticketCount, ids.Count);

            // get1 returns only the last one (the manual page's caveat).
            Assert.True(c.TryAcquireSession(out SslSession last));
            using (last)
            {
                Assert.Equal(delivered[^1].Id, last.Id);
            }
            _pipe.Shutdown(c, s);
        }
        finally
        {
            foreach (SslSession session in delivered)
            {
                session.Dispose();
            }
        }
    }

    [Fact]
    public void S6_WithoutAHandler_TicketsWaitOnTheConnection()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 2);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);

        Assert.True(c.TryTakeNewSession(out SslSession first));
        Assert.True(c.TryTakeNewSession(out SslSession second));
        Assert.False(c.TryTakeNewSession(out _));
        first.Dispose();
        second.Dispose();
        _pipe.Shutdown(c, s);
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void S8_CleanShutdown_KeepsTheSessionResumable(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        SslSession session;
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            _pipe.Handshake(c, s);
            Assert.True(c.TryAcquireSession(out session));
            _pipe.Shutdown(c, s);
            DrainTickets(c);
        }

        using (session)
        {
            Assert.True(session.IsResumable);
            using SslConnection c2 = client.CreateConnection("localhost");
            using SslConnection s2 = server.CreateConnection();
            c2.SetSession(session);
            _pipe.Handshake(c2, s2);
            Assert.True(c2.SessionReused);
            _pipe.Shutdown(c2, s2);
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void S8_ConnectionFreedWithoutShutdown_MarksItsSessionNotResumable(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        SslSession session;
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            _pipe.Handshake(c, s);
            Assert.True(c.TryAcquireSession(out session));
            Assert.True(session.IsResumable);
            DrainTickets(c);
            // No Shutdown: Dispose is SSL_free on a connection that was not closed down cleanly.
        }

        using (session)
        {
            Assert.False(session.IsResumable);
            using SslConnection c2 = client.CreateConnection("localhost");
            Assert.Throws<ArgumentException>(() => c2.SetSession(session));
        }
    }

    [Fact]
    public void S8_FatalErrorOnTheConnection_MarksItsSessionNotResumable()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        Assert.True(c.TryAcquireSession(out SslSession session));
        using (session)
        {
            Assert.True(session.IsResumable);

            // A corrupted record is a fatal error (bad_record_mac).
            byte[] garbage = new byte[64];
            garbage[0] = 23; garbage[1] = 3; garbage[2] = 3; garbage[3] = 0; garbage[4] = 59;
            SslIoResult r = c.Read(garbage, new byte[256], new byte[1024]);

            Assert.Equal(SslStatus.Failed, r.Status);
            Assert.NotNull(r.Error);
            Assert.True(c.IsFaulted);
            Assert.Throws<InvalidOperationException>(() => c.Read(default, new byte[16], new byte[16]));
            c.Dispose();
            Assert.False(session.IsResumable);
        }
    }

    [Fact]
    public void S4_ResetReuse_ResumesOnTheSameObject()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        for (int i = 0; i < 3; i++)
        {
            c.SetSession(session);
            _pipe.Handshake(c, s);
            Assert.True(c.SessionReused);
            _pipe.Shutdown(c, s);
            DrainTickets(c);
            c.Reset();
            s.Reset();
        }
    }

    private static void DrainTickets(SslConnection connection)
    {
        while (connection.TryTakeNewSession(out SslSession s))
        {
            s.Dispose();
        }
    }
}
