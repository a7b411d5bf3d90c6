using System;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Security;

/// <summary>
/// Client verification is on by default (issue #11): chain against the trust store and the options' certificates,
/// names against the connection's server name, failures that name the reason, an explicit opt-out, and a managed
/// validation callback run outside OpenSSL (the shim pauses with SSL_set_retry_verify). Real handshakes over memory.
/// </summary>
public sealed class CertificateVerificationTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    public static TheoryData<TlsVersion> Versions => new() { TlsVersion.Tls12, TlsVersion.Tls13 };

    [Theory]
    [MemberData(nameof(Versions))]
    public void DefaultClient_RejectsASelfSignedServer_NamingUntrustedRoot(TlsVersion version)
    {
        using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version });
        using SslContext client = SslContext.CreateClient(new SslClientOptions { MinVersion = version, MaxVersion = version });
        Assert.True(client.VerifiesPeer);
        Assert.True(client.ChecksServerName);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();

        var e = Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(c, s));
        Assert.Contains("untrusted root", e.Message, StringComparison.Ordinal);
        Assert.Contains("self-signed certificate", e.Message, StringComparison.Ordinal);
        Assert.Contains("DNS:localhost", e.Message, StringComparison.Ordinal);
        Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, c.CertificateErrors);
        Assert.Equal(18, c.CertificateVerifyResult); // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        Assert.True(c.IsFaulted);
        Assert.False(c.TryTakeNewSession(out _)); // nothing from a rejected server reaches a cache
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void TrustingTheServersCertificate_Succeeds_AndTheSessionResumesWithVerification(TlsVersion version)
    {
        using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version });
        var options = new SslClientOptions { MinVersion = version, MaxVersion = version, TrustedCertificatesPem = server.GetCertificatePem() };
        using SslContext client = SslContext.CreateClient(options);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        Assert.True(session.IsResumable);

        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        c.SetSession(session);
        _pipe.Handshake(c, s);
        Assert.True(c.SessionReused);
        Assert.Equal(SslPolicyErrors.None, c.CertificateErrors);
        Assert.Equal(0, c.CertificateVerifyResult);
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void ACaSignedChain_VerifiesAgainstTheTrustedCa_GivenAsX509Certificate2()
    {
        using SslContext server = SslContext.CreateServer(SecurityPki.Server(SecurityPki.Localhost, TlsVersion.Tls13));
        using X509Certificate2 ca = X509Certificate2.CreateFromPem(SecurityPki.Ca.CertificatePem);
        var options = new SslClientOptions { UseSystemTrustStore = false };
        options.TrustedCertificates.Add(ca);
        using SslContext client = SslContext.CreateClient(options);
        Connect(client, server, "localhost");
        Connect(client, server, "127.0.0.1"); // an IP literal is checked against the iPAddress entry
    }

    [Fact]
    public void AWrongName_Fails_NamingBothTheExpectedNameAndTheCertificatesNames()
    {
        using SslContext server = SslContext.CreateServer(SecurityPki.Server(SecurityPki.Localhost, TlsVersion.Tls13));
        using SslContext client = SslContext.CreateClient(SecurityPki.ClientTrustingCa(TlsVersion.Tls13));
        using SslConnection c = client.CreateConnection("wrong.example");
        using SslConnection s = server.CreateConnection();

        var e = Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(c, s));
        Assert.Contains("name mismatch", e.Message, StringComparison.Ordinal);
        Assert.Contains("'wrong.example'", e.Message, StringComparison.Ordinal);
        Assert.Contains("DNS:localhost", e.Message, StringComparison.Ordinal);
        Assert.Equal(SslPolicyErrors.RemoteCertificateNameMismatch, c.CertificateErrors);

        using SslConnection wrongIp = client.CreateConnection("127.0.0.2");
        using SslConnection s2 = server.CreateConnection();
        e = Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(wrongIp, s2));
        Assert.Contains("'127.0.0.2'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reset_WithAnotherName_ChecksTheNewName()
    {
        using SslContext server = SslContext.CreateServer(SecurityPki.Server(SecurityPki.Localhost, TlsVersion.Tls12));
        using SslContext client = SslContext.CreateClient(SecurityPki.ClientTrustingCa(TlsVersion.Tls12));
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        _pipe.Shutdown(c, s);

        c.Reset("elsewhere.example");
        s.Reset();
        var e = Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(c, s));
        Assert.Contains("'elsewhere.example'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnExpiredCertificate_Fails_NamingExpiry()
    {
        using SslContext server = SslContext.CreateServer(SecurityPki.Server(SecurityPki.ExpiredLocalhost, TlsVersion.Tls13));
        using SslContext client = SslContext.CreateClient(SecurityPki.ClientTrustingCa(TlsVersion.Tls13));
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        var e = Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(c, s));
        Assert.Contains("expired", e.Message, StringComparison.Ordinal);
        Assert.Equal(10, c.CertificateVerifyResult); // X509_V_ERR_CERT_HAS_EXPIRED
    }

    [Fact]
    public void ACertificateOfAnotherCa_IsUntrusted()
    {
        using SslContext server = SslContext.CreateServer(SecurityPki.Server(SecurityPki.Localhost, TlsVersion.Tls13));
        using SslContext client = SslContext.CreateClient(new SslClientOptions { UseSystemTrustStore = false, TrustedCertificatesPem = SecurityPki.OtherCa.CertificatePem });
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        var e = Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(c, s));
        Assert.Contains("untrusted root", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DangerousAcceptAnyServerCertificate_IsTheExplicitOptOut()
    {
        using SslContext server = SslContext.CreateServer(SecurityPki.Server(SecurityPki.ExpiredLocalhost, TlsVersion.Tls13));
        using SslContext client = SslContext.CreateClient(new SslClientOptions { DangerousAcceptAnyServerCertificate = true });
        Assert.False(client.VerifiesPeer);
        using SslConnection c = client.CreateConnection(); // no name needed: nothing is checked
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void AVerifyingClient_NeedsAServerName_AndRejectsEmbeddedNul()
    {
        using SslContext client = SslContext.CreateClient(SecurityPki.ClientTrustingCa(TlsVersion.Tls13));
        var e = Assert.Throws<ArgumentException>(() => client.CreateConnection());
        Assert.Contains("DangerousAcceptAnyServerCertificate", e.Message, StringComparison.Ordinal);

        // Issue #10 item 8: OpenSSL would send (and check) only "evil.example".
        e = Assert.Throws<ArgumentException>(() => client.CreateConnection("evil.example\0.trusted.example"));
        Assert.Contains("NUL", e.Message, StringComparison.Ordinal);
        using SslContext open = SslContext.CreateClient(new SslClientOptions { DangerousAcceptAnyServerCertificate = true });
        Assert.Throws<ArgumentException>(() => open.CreateConnection("evil.example\0.trusted.example"));
        using SslConnection c = client.CreateConnection("localhost");
        Assert.Throws<ArgumentException>(() => c.Reset("evil.example\0.trusted.example"));
        Assert.Equal("localhost", c.ServerName);
        Assert.Throws<ArgumentException>(() => client.CreateConnection(""));
        Assert.Throws<ArgumentException>(() => client.CreateConnection(new string('a', 256)));
    }

    [Fact]
    public void Options_ThatCouldNeverVerify_AreRejected()
    {
        Assert.Throws<ArgumentException>(() => SslContext.CreateClient(new SslClientOptions { UseSystemTrustStore = false }));
        Assert.Throws<ArgumentException>(() => SslContext.CreateClient(new SslClientOptions
        {
            DangerousAcceptAnyServerCertificate = true,
            ServerCertificateValidation = (_, _) => true,
        }));
        Assert.Throws<ArgumentException>(() => SslContext.CreateClient(new SslClientOptions { TrustedCertificatesPem = "not a certificate" }));
        Assert.Throws<ArgumentException>(() => SslContext.CreateClient(new SslClientOptions { TrustedCertificatesFile = "/nonexistent/ca.pem" }));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void ValidationCallback_CanAcceptAnUntrustedCertificate_SeeingOpenSslsVerdictAndTheChain(TlsVersion version)
    {
        using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version });
        string serverPem = server.GetCertificatePem();
        using X509Certificate2 expected = X509Certificate2.CreateFromPem(serverPem);
        SslPolicyErrors seen = (SslPolicyErrors)(-1);
        int seenError = -1, seenDepth = -2, calls = 0;
        string? seenName = null, thumbprint = null, description = null;
        var options = new SslClientOptions
        {
            MinVersion = version,
            MaxVersion = version,
            UseSystemTrustStore = false,
            ServerCertificateValidation = (connection, v) =>
            {
                calls++;
                seen = v.PolicyErrors;
                seenError = v.VerifyError;
                seenDepth = v.ErrorDepth;
                seenName = v.ServerName;
                description = v.VerifyErrorDescription;
                thumbprint = v.Certificate!.Thumbprint;
                Assert.Equal(1, v.ChainLength);
                Assert.Single(v.Chain);
                Assert.False(connection.IsHandshakeComplete);
                // Pinning: accept exactly this certificate.
                return v.GetCertificateDer(0).AsSpan().SequenceEqual(expected.RawData);
            },
        };
        using SslContext client = SslContext.CreateClient(options);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);

        Assert.Equal(1, calls);
        Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, seen);
        Assert.Equal(18, seenError);
        Assert.Equal(0, seenDepth);
        Assert.Equal("localhost", seenName);
        Assert.Equal("self-signed certificate", description);
        Assert.Equal(expected.Thumbprint, thumbprint);
        Assert.True(session.IsResumable);
    }

    [Fact]
    public void ValidationCallback_CanRejectATrustedCertificate_AndAThrowingCallbackRejects()
    {
        using SslContext server = SslContext.CreateServer(SecurityPki.Server(SecurityPki.Localhost, TlsVersion.Tls13));
        SslClientOptions options = SecurityPki.ClientTrustingCa(TlsVersion.Tls13);
        options.ServerCertificateValidation = (_, v) => v.PolicyErrors != SslPolicyErrors.None;
        using (SslContext client = SslContext.CreateClient(options))
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            var e = Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(c, s));
            Assert.Contains("callback rejected", e.Message, StringComparison.Ordinal);
            Assert.False(c.TryTakeNewSession(out _));
        }

        options = SecurityPki.ClientTrustingCa(TlsVersion.Tls13);
        options.ServerCertificateValidation = (_, _) => throw new InvalidOperationException("policy store unavailable");
        using (SslContext client = SslContext.CreateClient(options))
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            var e = Assert.Throws<SslHandshakeException>(() => _pipe.Handshake(c, s));
            Assert.Contains("policy store unavailable", e.Message, StringComparison.Ordinal);
        }
    }

    private void Connect(SslContext client, SslContext server, string name)
    {
        using SslConnection c = client.CreateConnection(name);
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        Assert.Equal(SslPolicyErrors.None, c.CertificateErrors);
        _pipe.Shutdown(c, s);
        while (c.TryTakeNewSession(out SslSession x))
        {
            x.Dispose();
        }
    }
}
