using System;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Reliability;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Security;

/// <summary>
/// A server session store shared by contexts of different client-authentication policies (one listener without client
/// certificates, one that requires them, on one Redis prefix): a session of the one must never resume on the other, or a client
/// that never proved a certificate would be let in by the listener that requires one (resumption skips CertificateRequest).
/// OpenSSL's guard is the session id context (<c>SSL_CTX_set_session_id_context</c>): it must differ between such contexts.
/// </summary>
public sealed class ServerStoreIdentityTests(ITestOutputHelper output) : LiveObjectTest
{
    private static SslServerOptions Strict(TlsVersion version)
    {
        SslServerOptions strict = SecurityPki.Server(SecurityPki.Localhost, version);
        strict.EnableTickets = false;
        strict.ClientCertificateMode = SslClientCertificateMode.RequireCertificate;
        strict.TrustedCertificatesPem = SecurityPki.Ca.CertificatePem;
        return strict;
    }

    /// <summary>A full engine handshake and clean close; the client's newest session (and whether the server resumed).</summary>
    private static (bool Completed, bool Resumed, bool PeerCertificate, SslSession Session) Connect(SslContext client, SslContext server, SslSession resume = default)
    {
        var drive = new EngineDrive();
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        if (!resume.IsNone)
        {
            c.SetSession(resume);
        }
        bool completed = drive.Handshake(c, s);
        bool resumed = completed && s.SessionReused, peer = completed && s.TryBorrowPeerCertificate(out _);
        if (completed)
        {
            drive.CloseCleanly(c, s);
        }
        return (completed, resumed, peer, completed ? EngineDrive.TakeNewest(c) : default);
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void ATicketOfAListenerWithoutClientCertificates_NeverResumesOnOneThatRequiresThem_SharedTicketKeys(TlsVersion version)
    {
        // The same bypass through shared ticket keys (stateless tickets carry the session id context too).
        using var ring = new TicketKeyRing();
        using (TicketKey key = TicketKey.Generate())
        {
            ring.Install([key]);
        }
        SslServerOptions openOptions = SecurityPki.Server(SecurityPki.Localhost, version);
        SslServerOptions strictOptions = Strict(version);
        strictOptions.EnableTickets = true;
        using SslContext open = SslContext.CreateServer(openOptions);
        using SslContext strict = SslContext.CreateServer(strictOptions);
        open.UseTicketKeys(ring);
        strict.UseTicketKeys(ring);
        using SslContext anonymous = SslContext.CreateClient(SecurityPki.ClientTrustingCa(version));
        (bool completed, _, _, SslSession ticket) = Connect(anonymous, open);
        Assert.True(completed);
        using (ticket)
        {
            Assert.True(ticket.Info.HasTicket);
            (completed, bool resumed, bool peer, SslSession next) = Connect(anonymous, strict, ticket);
            next.Dispose();
            output.WriteLine($"{version} ticket: strict server completed {completed}, resumed {resumed}, certificate {peer}");
            Assert.False(completed && resumed, "the strict listener resumed a ticket of the open one: a client without a certificate got in");
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void ListenersOfOnePolicy_StillResumeEachOthersSessions_AndACertifiedClientIsAskedAgainByTheStrictOne(TlsVersion version)
    {
        // The fleet case stays: two strict contexts configured alike (two processes) resume each other's sessions through the store.
        var store = new HostileServerStore(StoreBehavior.Honest);
        using SslContext strictA = SslContext.CreateServer(Strict(version));
        using SslContext strictB = SslContext.CreateServer(Strict(version));
        SslServerOptions openOptions = SecurityPki.Server(SecurityPki.Localhost, version);
        openOptions.EnableTickets = false;
        using SslContext open = SslContext.CreateServer(openOptions);
        strictA.UseServerSessionStore(store);
        strictB.UseServerSessionStore(store);
        open.UseServerSessionStore(store);
        SslClientOptions withCertificate = SecurityPki.ClientTrustingCa(version);
        withCertificate.ClientCertificatePem = SecurityPki.Client.CertificatePem;
        withCertificate.ClientPrivateKeyPem = SecurityPki.Client.KeyPem;
        using SslContext client = SslContext.CreateClient(withCertificate);

        (bool completed, _, bool peer, SslSession fromA) = Connect(client, strictA);
        Assert.True(completed && peer);
        using (fromA)
        {
            (completed, bool resumed, peer, SslSession next) = Connect(client, strictB, fromA);
            next.Dispose();
            Assert.True(completed && resumed, "two listeners of one policy no longer resume each other's sessions");
            Assert.True(peer, "the resumed session lost the client certificate it was made with");
        }

        // A session the open listener made (no certificate asked) is a miss on the strict one: a full handshake that asks for it.
        (completed, _, peer, SslSession fromOpen) = Connect(client, open);
        Assert.True(completed);
        Assert.False(peer);
        using (fromOpen)
        {
            (completed, bool resumed, peer, SslSession next) = Connect(client, strictA, fromOpen);
            next.Dispose();
            output.WriteLine($"{version}: open session on the strict listener: completed {completed}, resumed {resumed}, certificate {peer}");
            Assert.True(completed && !resumed && peer);
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void ASessionOfAListenerWithoutClientCertificates_NeverResumesOnOneThatRequiresThem(TlsVersion version)
    {
        var store = new HostileServerStore(StoreBehavior.Honest);
        SslServerOptions open = SecurityPki.Server(SecurityPki.Localhost, version);
        open.EnableTickets = false;
        SslServerOptions strict = SecurityPki.Server(SecurityPki.Localhost, version);
        strict.EnableTickets = false;
        strict.ClientCertificateMode = SslClientCertificateMode.RequireCertificate;
        strict.TrustedCertificatesPem = SecurityPki.Ca.CertificatePem;
        using SslContext openServer = SslContext.CreateServer(open);
        using SslContext strictServer = SslContext.CreateServer(strict);
        openServer.UseServerSessionStore(store);
        strictServer.UseServerSessionStore(store);
        using SslContext anonymous = SslContext.CreateClient(SecurityPki.ClientTrustingCa(version));

        var drive = new EngineDrive();
        SslSession session;
        using (SslConnection c = anonymous.CreateConnection("localhost"))
        using (SslConnection s = openServer.CreateConnection())
        {
            Assert.True(drive.Handshake(c, s));
            drive.CloseCleanly(c, s);
            session = EngineDrive.TakeNewest(c);
            Assert.False(session.IsNone);
        }
        using (session)
        {
            Assert.True(store.Count > 0);
            using SslConnection c = anonymous.CreateConnection("localhost");
            using SslConnection s = strictServer.CreateConnection();
            c.SetSession(session);
            bool completed = drive.Handshake(c, s);
            output.WriteLine($"{version}: strict server completed {completed}, resumed {s.SessionReused}, peer certificate {s.TryBorrowPeerCertificate(out _)}; {strictServer.ServerSessionCacheCounters}");
            Assert.False(completed && s.SessionReused, "the strict listener resumed a session of the open one: a client without a certificate got in");
        }
    }
}
