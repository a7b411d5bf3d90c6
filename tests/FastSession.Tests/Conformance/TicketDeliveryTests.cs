using System;
using System.Collections.Generic;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Conformance;

/// <summary>
/// S6/S7 under load (issue #10 item 4): every TLS 1.3 ticket a server sends reaches the application, however many
/// arrive in one flight. The shim's queue used to hold 8 and silently drop the rest; it now grows to
/// <see cref="SslConnection.MaxWaitingSessions"/> and counts anything past that bound.
/// </summary>
public sealed class TicketDeliveryTests : LiveObjectTest
{
    private const int Tickets = 5_000;

    [Fact]
    public void ServerSending5000TicketsInOneFlight_EveryOneReachesTheHandler()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 0);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        var distinct = new HashSet<SslSessionId>();
        int delivered = 0, resumable = 0;
        client.SessionEstablished = (connection, session) =>
        {
            using (session)
            {
                delivered++;
                resumable += session.IsResumable ? 1 : 0;
                distinct.Add(session.Id);
            }
        };
        var pipe = new SslMemoryPipe(8 * 1024 * 1024);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        pipe.Handshake(c, s);
        Assert.Equal(0, delivered);

        for (int i = 0; i < Tickets; i++)
        {
            s.QueueSessionTicket();
        }
        // The server's write sends the 5,000 tickets, then one byte; the client processes them all in one Read.
        Span<byte> received = stackalloc byte[16];
        Assert.Equal(1, pipe.Send(s, c, "x"u8, received));

        Assert.Equal(Tickets, delivered);
        Assert.Equal(Tickets, resumable);
        Assert.Equal(Tickets, distinct.Count);
        Assert.Equal(0, c.DroppedSessionCount);
        Assert.False(c.TryTakeNewSession(out _));
        pipe.Shutdown(c, s);
    }

    [Fact]
    public void WithoutAHandler_5000TicketsWaitOnTheConnection_AndNewSessionsCountsThisCallOnly()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 0);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        var pipe = new SslMemoryPipe(8 * 1024 * 1024);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        pipe.Handshake(c, s);
        for (int i = 0; i < Tickets; i++)
        {
            s.QueueSessionTicket();
        }
        byte[] wire = new byte[8 * 1024 * 1024];
        byte[] plain = new byte[64];
        SslIoResult w = s.Write("x"u8, wire);
        Assert.Equal(SslStatus.Completed, w.Status);
        Assert.Equal(0, w.PendingOutput);

        SslIoResult r = c.Read(wire.AsSpan(0, w.OutputBytes), plain, default);
        Assert.Equal(SslOperation.Read, r.Operation);
        Assert.Equal(Tickets, r.NewSessions);
        SslIoResult again = c.Read(default, plain, default);
        Assert.Equal(0, again.NewSessions); // established during that call: none, though 5,000 still wait

        int taken = 0;
        while (c.TryTakeNewSession(out SslSession session))
        {
            using (session)
            {
                Assert.True(session.IsResumable);
                taken++;
            }
        }
        Assert.Equal(Tickets, taken);
        Assert.Equal(0, c.DroppedSessionCount);
        pipe.Shutdown(c, s);
    }

    [Fact]
    public void QueueSessionTicket_OnAClientOrBeforeTheHandshake_ThrowsInvalidOperation()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        Assert.Throws<InvalidOperationException>(() => s.QueueSessionTicket());
        new SslMemoryPipe().Handshake(c, s);
        Assert.Throws<InvalidOperationException>(() => c.QueueSessionTicket());
        s.Dispose();
        Assert.Throws<ObjectDisposedException>(() => s.QueueSessionTicket());
    }
}
