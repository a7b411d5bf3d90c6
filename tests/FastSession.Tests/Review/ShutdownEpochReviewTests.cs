using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Review;

/// <summary>
/// Review finding: <see cref="SslConnection.Shutdown"/> returns without bumping the session epoch when
/// SSL_shutdown returns 0 or 1 (it skips Finish). But a second SSL_shutdown, after close_notify was sent, reads
/// whatever records wait in the read BIO (ssl3_shutdown → ssl3_read_bytes), and OpenSSL processes TLS 1.3
/// NewSessionTicket messages even after close_notify: tls_process_new_session_ticket duplicates the client's
/// session and frees the old one (SSL_SESSION_free(s->session)). A borrowed view taken before the Shutdown
/// then still reports IsValid while its pointer is no longer the connection's session — freed memory.
/// The tickets captured during that Shutdown are also never delivered to SessionEstablished.
/// </summary>
public sealed class ShutdownEpochReviewTests : LiveObjectTest
{
    [Fact]
    public void Shutdown_ThatProcessesBufferedTls13Tickets_InvalidatesBorrowedViews()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 1);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        byte[] toServer = new byte[64 * 1024];
        byte[] toClient = new byte[64 * 1024];

        // Drive the handshake by hand so the server's tickets never reach a client Read.
        int n = c.Handshake(default, toServer).OutputBytes;                      // ClientHello
        int m = s.Handshake(toServer.AsSpan(0, n), toClient).OutputBytes;        // ServerHello … Finished
        SslIoResult r = c.Handshake(toClient.AsSpan(0, m), toServer);             // client Finished
        Assert.Equal(SslStatus.Completed, r.Status);
        n = r.OutputBytes;
        r = s.Handshake(toServer.AsSpan(0, n), toClient);                         // server: its NewSessionTicket
        Assert.Equal(SslStatus.Completed, r.Status);
        m = r.OutputBytes;
        Assert.True(m > 0, "the server should have sent its TLS 1.3 ticket");
        m += s.Shutdown(toClient.AsSpan(m)).OutputBytes;                         // + server close_notify

        // SSL_do_handshake on a finished connection returns 1 without reading: the tickets and the
        // close_notify now wait, unprocessed, in the client's read BIO.
        Assert.Equal(SslStatus.Completed, c.Handshake(toClient.AsSpan(0, m), toServer).Status);
        Assert.Equal(0, c.TryTakeNewSession(out SslSession none) ? 1 : 0);
        none.Dispose();

        Assert.True(c.TryBorrowSession(out SslSessionRef view));
        string borrowedPointer = PointerOf(view);
        long sessionsBefore = LiveObjectCounts.Current.Sessions;

        Assert.Equal(SslStatus.Completed, c.Shutdown(toServer).Status);           // sends close_notify (ret 0)
        Assert.Equal(SslStatus.Closed, c.Shutdown(toServer).Status);              // reads tickets + close_notify (ret 1: both sides closed)
        Assert.True(c.ShutdownReceived);
        // One ticket arrived (a new session, held by the ring and the SSL) and the borrowed one was freed:
        // the live count is unchanged instead of +1.
        Assert.Equal(sessionsBefore, LiveObjectCounts.Current.Sessions);

        // OpenSSL replaced (and freed) the session the view borrowed.
        Assert.True(c.TryBorrowSession(out SslSessionRef current));
        string currentPointer = PointerOf(current);
        Assert.NotEqual(borrowedPointer, currentPointer);
        int captured = 0;
        while (c.TryTakeNewSession(out SslSession ticket))
        {
            captured++;
            ticket.Dispose();
        }
        Assert.Equal(1, captured);

        // The contract (S1): a view whose session was changed or freed is stale and throws.
        Assert.False(view.IsValid, "view " + view.ToString() + " still claims to be valid, but the connection's session is now " + current.ToString());
    }

    private static string PointerOf(SslSessionRef view)
    {
        string text = view.ToString(); // "SslSessionRef(0x…, valid)"
        return text[..text.IndexOf(',', StringComparison.Ordinal)];
    }
}
