using System;
using System.Collections.Generic;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Security;

/// <summary>
/// The server side of the session API and the counterparts a port from OpenSSL looks for (issue #11 items 4 and 5):
/// SessionEstablished on server contexts, the default timeout, SSL_get_servername, SSL_set_num_tickets,
/// SSL_new_session_ticket, SSL_SESSION_dup, SSL_CTX_add_session / SSL_CTX_remove_session, and a shutdown fed with
/// the peer's close_notify. Real handshakes over memory.
/// </summary>
public sealed class ServerSessionApiTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    // TLS 1.2 with a stateless ticket: OpenSSL gives the server session no id and caches nothing, so there is
    // nothing to report (ssl_generate_session_id / ssl_update_cache); by session id, one session is cached.
    [Theory]
    [InlineData(TlsVersion.Tls12, false, 1)]
    [InlineData(TlsVersion.Tls12, true, 0)]
    [InlineData(TlsVersion.Tls13, true, 2)]
    public void SessionEstablished_FiresOnServerContexts(TlsVersion version, bool tickets, int expected)
    {
        using SslContext server = Tls.Server(version, tickets: tickets);
        using SslContext client = Tls.Client(version, tickets: tickets);
        var seen = new List<SslSession>();
        server.SessionEstablished = (connection, session) =>
        {
            Assert.True(connection.IsServer);
            seen.Add(session);
        };
        try
        {
            Tls.ConnectAndCaptureLast(client, server, _pipe).Dispose();
            Assert.Equal(expected, seen.Count);
            Assert.All(seen, s => Assert.Equal(server.Id, s.ContextId));
            Assert.All(seen, s => Assert.Equal(version, s.Protocol));
        }
        finally
        {
            seen.ForEach(s => s.Dispose());
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void TheDefaultSessionTimeout_IsOpenSslsSevenThousandTwoHundredSeconds(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        Assert.Equal(7200, (long)session.Info.Timeout.TotalSeconds);
    }

    [Fact]
    public void ReceivedServerName_IsTheSniTheServerGot()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("service.example");
        using SslConnection s = server.CreateConnection();
        Assert.Null(s.ReceivedServerName);
        _pipe.Handshake(c, s);
        Assert.Equal("service.example", s.ReceivedServerName);
        Assert.Equal("service.example", c.ReceivedServerName);
        _pipe.Shutdown(c, s);
        Drain(c);

        using SslConnection noName = client.CreateConnection();
        using SslConnection s2 = server.CreateConnection();
        _pipe.Handshake(noName, s2);
        Assert.Null(s2.ReceivedServerName);
        _pipe.Shutdown(noName, s2);
        Drain(noName);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    public void TicketCount_PerConnection_SetsHowManyTicketsTheServerSends(int count)
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 2);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        Assert.Equal(2, s.TicketCount);
        s.TicketCount = count;
        Assert.Equal(count, s.TicketCount);
        _pipe.Handshake(c, s);
        Assert.Equal(count, Drain(c));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.TicketCount = -1);
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void SendSessionTicket_SendsOneMoreTicketOnDemand_ThatResumes()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 0);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        SslSession ticket;
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            _pipe.Handshake(c, s);
            Assert.Equal(0, Drain(c));
            Assert.Throws<InvalidOperationException>(() => c.SendSessionTicket(new byte[64]));

            byte[] wire = new byte[17 * 1024];
            SslIoResult sent = s.SendSessionTicket(wire);
            Assert.Equal(SslStatus.Completed, sent.Status);
            Assert.True(sent.BytesWritten > 0);
            SslIoResult read = c.Read(wire.AsSpan(0, sent.BytesWritten), new byte[1024], new byte[1024]);
            Assert.Equal(1, read.NewSessions);
            Assert.True(c.TryTakeNewSession(out ticket));
            _pipe.Shutdown(c, s);
        }
        using (ticket)
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            Assert.True(ticket.IsResumable);
            c.SetSession(ticket);
            _pipe.Handshake(c, s);
            Assert.True(c.SessionReused);
            _pipe.Shutdown(c, s);
        }
        using (SslConnection fresh = server.CreateConnection())
        {
            Assert.Throws<InvalidOperationException>(() => fresh.SendSessionTicket(new byte[64]));
        }
    }

    [Fact]
    public void Copy_IsATrueCopy_UnlikeDuplicate()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslSession original = Tls.ConnectAndCaptureLast(client, server, _pipe);
        using SslSession copy = original.Copy();
        using SslSession duplicate = original.Duplicate();

        Assert.Equal(original.Id.ToString(), copy.Id.ToString());
        Assert.Equal(original.ContextId, copy.ContextId);
        Assert.Equal(original.ToDer(), copy.ToDer());

        copy.SetTimeout(TimeSpan.FromSeconds(42));
        Assert.Equal(42, (long)copy.Info.Timeout.TotalSeconds);
        Assert.NotEqual(42, (long)original.Info.Timeout.TotalSeconds); // an independent SSL_SESSION
        duplicate.SetTimeout(TimeSpan.FromSeconds(43));
        Assert.Equal(43, (long)original.Info.Timeout.TotalSeconds); // the same SSL_SESSION, one more reference

        // The copy resumes like the original.
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        c.SetSession(copy);
        _pipe.Handshake(c, s);
        Assert.True(c.SessionReused);
        _pipe.Shutdown(c, s);
        Assert.Throws<InvalidOperationException>(() => default(SslSession).Copy());
    }

    [Fact]
    public void AddSession_RemoveSession_ControlWhatTheServerCacheResumes()
    {
        // TLS 1.2 by session id: the server resumes only from its internal cache.
        using SslContext server = Tls.Server(TlsVersion.Tls12, tickets: false);
        using SslContext client = Tls.Client(TlsVersion.Tls12, tickets: false);
        SslSession serverSide = default;
        server.SessionEstablished = (_, session) =>
        {
            serverSide.Dispose();
            serverSide = session;
        };
        try
        {
            using SslSession clientSide = Tls.ConnectAndCaptureLast(client, server, _pipe);
            Assert.False(serverSide.IsNone);
            Assert.Equal(1, server.CachedSessionCount);

            Assert.True(server.RemoveSession(serverSide));
            Assert.Equal(0, server.CachedSessionCount);
            Assert.False(server.RemoveSession(serverSide));
            Assert.False(Resumes(client, server, clientSide));

            // SSL_CTX_remove_session made it non-resumable; a true copy of it can be put back (a resumable one, re-timed).
            using SslSession restored = SslSession.FromDer(serverSide.ToDer(), server);
            Assert.True(server.AddSession(restored));
            Assert.False(server.AddSession(restored)); // already cached
            using SslSession fresh = Tls.ConnectAndCaptureLast(client, server, _pipe); // a new server session too
            Assert.True(Resumes(client, server, fresh));

            using SslContext other = Tls.Server(TlsVersion.Tls12, tickets: false);
            Assert.Throws<SslContextMismatchException>(() => other.AddSession(restored)); // one SSL_SESSION, one SSL_CTX
            Assert.Throws<ArgumentException>(() => server.AddSession(default));
        }
        finally
        {
            server.SessionEstablished = null;
            serverSide.Dispose();
        }
    }

    [Fact]
    public void Shutdown_FedThePeersCloseNotify_ReportsBothSidesClosed()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        byte[] toServer = new byte[1024];
        byte[] toClient = new byte[1024];

        SslIoResult first = c.Shutdown(default, toServer);
        Assert.Equal(SslStatus.Completed, first.Status); // ours sent, the peer's not seen
        Assert.True(c.ShutdownSent);
        Assert.False(c.ShutdownReceived);

        SslIoResult serverSaw = s.Read(toServer.AsSpan(0, first.BytesWritten), new byte[1024], toClient);
        Assert.Equal(SslStatus.Closed, serverSaw.Status);
        SslIoResult serverClose = s.Shutdown(toClient);

        SslIoResult last = c.Shutdown(toClient.AsSpan(0, serverClose.BytesWritten), new byte[1024]);
        Assert.Equal(SslStatus.Closed, last.Status);
        Assert.True(c.ShutdownReceived);
        Drain(c);
    }

    private bool Resumes(SslContext client, SslContext server, SslSession session)
    {
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        c.SetSession(session);
        _pipe.Handshake(c, s);
        bool reused = c.SessionReused;
        _pipe.Shutdown(c, s);
        Drain(c);
        return reused;
    }

    private static int Drain(SslConnection c)
    {
        int n = 0;
        while (c.TryTakeNewSession(out SslSession x))
        {
            x.Dispose();
            n++;
        }
        return n;
    }
}
