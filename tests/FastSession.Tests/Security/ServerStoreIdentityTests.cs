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
            int close = c.Shutdown(drive.ToServer).OutputBytes;
            s.Read(drive.ToServer.AsSpan(0, close), drive.Plain, drive.ToClient);
            s.Shutdown(drive.ToClient);
            session = default;
            while (c.TryTakeNewSession(out SslSession next))
            {
                session.Dispose();
                session = next;
            }
            if (session.IsNone)
            {
                Assert.True(c.TryAcquireSession(out session));
            }
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
