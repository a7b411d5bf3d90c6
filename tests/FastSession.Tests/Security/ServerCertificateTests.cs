using System;
using System.Security.Cryptography.X509Certificates;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Security;

/// <summary>
/// Server certificates the way .NET holds them (X509Certificate2), per-SNI certificates that keep one session
/// context, and mutual TLS (client certificates from PEM or X509Certificate2; servers that require or allow them).
/// </summary>
public sealed class ServerCertificateTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    public static TheoryData<TlsVersion> Versions => new() { TlsVersion.Tls12, TlsVersion.Tls13 };

    [Fact]
    public void AServerCertificate_FromX509Certificate2_IsServedAndVerified()
    {
        using X509Certificate2 certificate = SecurityPki.Localhost.ToCertificate();
        using SslContext server = SslContext.CreateServer(new SslServerOptions { Certificate = certificate });
        Assert.Equal(SecurityPki.Localhost.CertificatePem.Trim(), server.GetCertificatePem().Trim());
        using SslContext client = SslContext.CreateClient(SecurityPki.ClientTrustingCa(TlsVersion.Tls13));
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        Assert.True(c.TryAcquirePeerCertificate(out PeerCertificate peer));
        using (peer)
        {
            Assert.Contains("CN=localhost", peer.Subject, StringComparison.Ordinal);
        }
        _pipe.Shutdown(c, s);
        DrainTickets(c);
    }

    [Fact]
    public void AServerCertificate_WithoutItsPrivateKey_IsRejected()
    {
        using X509Certificate2 publicOnly = X509Certificate2.CreateFromPem(SecurityPki.Localhost.CertificatePem);
        Assert.Throws<ArgumentException>(() => SslContext.CreateServer(new SslServerOptions { Certificate = publicOnly }));
        Assert.Throws<ArgumentException>(() => SslServerCertificate.FromCertificate(publicOnly));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void CertificatesByServerName_PickACertificatePerName_AndSessionsResumeAcrossNames(TlsVersion version)
    {
        using X509Certificate2 api = SecurityPki.Api.ToCertificate();
        SslServerOptions options = SecurityPki.Server(SecurityPki.Localhost, version);
        options.CertificatesByServerName["api.test"] = SslServerCertificate.FromCertificate(api);
        options.CertificatesByServerName["*.wild.test"] = SslServerCertificate.FromPem(SecurityPki.Wildcard.CertificatePem, SecurityPki.Wildcard.KeyPem);
        using SslContext server = SslContext.CreateServer(options);
        using SslContext client = SslContext.CreateClient(SecurityPki.ClientTrustingCa(version));

        // Each name gets its certificate (the client verifies the name, so a wrong pick fails the handshake).
        SslSession fromApi = HandshakeAndCapture(client, server, "api.test", default, out bool reused, out string? received);
        Assert.False(reused);
        Assert.Equal("api.test", received);
        using SslSession fromWild = HandshakeAndCapture(client, server, "x.wild.test", default, out _, out received);
        Assert.Equal("x.wild.test", received);
        HandshakeAndCapture(client, server, "localhost", default, out _, out _).Dispose();

        // One session context: a session of one name resumes on the same name and on another served by the context.
        using (fromApi)
        {
            using SslSession again = HandshakeAndCapture(client, server, "api.test", fromApi, out reused, out _);
            Assert.True(reused);
        }
        using SslSession across = HandshakeAndCapture(client, server, "y.wild.test", fromWild, out reused, out _);
        Assert.True(reused);
        // ... and across certificates: a session made under the wildcard's SSL_CTX resumes on api.test's.
        // (TLS 1.2 resumption brings no new session, TLS 1.3 tickets are single use: take the one each protocol has.)
        SslSession wildSession = version == TlsVersion.Tls12 ? fromWild : across;
        Assert.False(wildSession.IsNone);
        using SslSession acrossContexts = HandshakeAndCapture(client, server, "api.test", wildSession, out reused, out _);
        Assert.True(reused);
    }

    [Fact]
    public void ANameWithoutItsOwnCertificate_GetsTheDefaultOne()
    {
        SslServerOptions options = SecurityPki.Server(SecurityPki.Localhost, TlsVersion.Tls13);
        options.CertificatesByServerName["api.test"] = SslServerCertificate.FromPem(SecurityPki.Api.CertificatePem, SecurityPki.Api.KeyPem);
        using SslContext server = SslContext.CreateServer(options);
        using SslContext client = SslContext.CreateClient(SecurityPki.ClientTrustingCa(TlsVersion.Tls13));
        using SslConnection c = client.CreateConnection("other.test");
        using SslConnection s = server.CreateConnection();
        var e = Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(c, s));
        Assert.Contains("DNS:localhost", e.Message, StringComparison.Ordinal); // the default certificate was served
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void MutualTls_AServerThatRequiresClientCertificates_ReadsThePeersCertificate(TlsVersion version)
    {
        SslServerOptions serverOptions = SecurityPki.Server(SecurityPki.Localhost, version);
        serverOptions.ClientCertificateMode = SslClientCertificateMode.RequireCertificate;
        serverOptions.TrustedCertificatesPem = SecurityPki.Ca.CertificatePem;
        using SslContext server = SslContext.CreateServer(serverOptions);
        Assert.True(server.VerifiesPeer);

        using X509Certificate2 clientCertificate = SecurityPki.Client.ToCertificate();
        SslClientOptions clientOptions = SecurityPki.ClientTrustingCa(version);
        clientOptions.ClientCertificate = clientCertificate;
        using (SslContext client = SslContext.CreateClient(clientOptions))
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            _pipe.Handshake(c, s);
            Assert.True(s.TryAcquirePeerCertificate(out PeerCertificate peer));
            using (peer)
            {
                Assert.Contains("CN=fastsession-client", peer.Subject, StringComparison.Ordinal);
            }
            Assert.Equal(0, s.CertificateVerifyResult);
            _pipe.Shutdown(c, s);
            DrainTickets(c);
        }

        // The same client certificate as PEM works too.
        SslClientOptions pemOptions = SecurityPki.ClientTrustingCa(version);
        pemOptions.ClientCertificatePem = SecurityPki.Client.CertificatePem;
        pemOptions.ClientPrivateKeyPem = SecurityPki.Client.KeyPem;
        using (SslContext client = SslContext.CreateClient(pemOptions))
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            _pipe.Handshake(c, s);
            _pipe.Shutdown(c, s);
            DrainTickets(c);
        }

        // No certificate: the server refuses the handshake.
        using (SslContext client = SslContext.CreateClient(SecurityPki.ClientTrustingCa(version)))
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(c, s));
        }
    }

    [Fact]
    public void MutualTls_AClientCertificateOfAnUntrustedIssuer_IsRefusedNamingTheReason()
    {
        SslServerOptions serverOptions = SecurityPki.Server(SecurityPki.Localhost, TlsVersion.Tls12);
        serverOptions.ClientCertificateMode = SslClientCertificateMode.AllowCertificate;
        serverOptions.TrustedCertificatesPem = SecurityPki.OtherCa.CertificatePem;
        using SslContext server = SslContext.CreateServer(serverOptions);
        SslClientOptions clientOptions = SecurityPki.ClientTrustingCa(TlsVersion.Tls12);
        clientOptions.ClientCertificatePem = SecurityPki.Client.CertificatePem;
        clientOptions.ClientPrivateKeyPem = SecurityPki.Client.KeyPem;
        using SslContext client = SslContext.CreateClient(clientOptions);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        var e = Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(c, s));
        Assert.Contains("client certificate verification failed", e.Message, StringComparison.Ordinal);
        Assert.Contains("untrusted root", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MutualTls_AllowCertificate_AcceptsAClientWithout()
    {
        SslServerOptions serverOptions = SecurityPki.Server(SecurityPki.Localhost, TlsVersion.Tls13);
        serverOptions.ClientCertificateMode = SslClientCertificateMode.AllowCertificate;
        serverOptions.TrustedCertificatesPem = SecurityPki.Ca.CertificatePem;
        using SslContext server = SslContext.CreateServer(serverOptions);
        using SslContext client = SslContext.CreateClient(SecurityPki.ClientTrustingCa(TlsVersion.Tls13));
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        Assert.False(s.TryAcquirePeerCertificate(out _));
        _pipe.Shutdown(c, s);
        DrainTickets(c);
        Assert.Throws<ArgumentException>(() => SslContext.CreateServer(new SslServerOptions { ClientCertificateMode = SslClientCertificateMode.RequireCertificate }));
    }

    private SslSession HandshakeAndCapture(SslContext client, SslContext server, string name, SslSession resumeWith, out bool reused, out string? receivedName)
    {
        using SslConnection c = client.CreateConnection(name);
        using SslConnection s = server.CreateConnection();
        if (!resumeWith.IsNone)
        {
            c.SetSession(resumeWith);
        }
        _pipe.Handshake(c, s);
        reused = c.SessionReused;
        receivedName = s.ReceivedServerName;
        _pipe.Shutdown(c, s);
        SslSession last = default;
        while (c.TryTakeNewSession(out SslSession next))
        {
            last.Dispose();
            last = next;
        }
        return last;
    }

    private static void DrainTickets(SslConnection c)
    {
        while (c.TryTakeNewSession(out SslSession x))
        {
            x.Dispose();
        }
    }
}
