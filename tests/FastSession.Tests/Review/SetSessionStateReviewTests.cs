using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Review;

/// <summary>
/// Review finding: <see cref="SslConnection.SetSession"/> ("offers a session for resumption on the next handshake")
/// does not check that the connection is before its handshake. On an established connection SSL_set_session
/// swaps s->session under the live connection: the connection's real session is marked non-resumable
/// (ssl_clear_bad_session), and the peer certificate the connection reports (SSL_get0/get1_peer_certificate read
/// s->session->peer) becomes the other session's server — an identity the peer never presented.
/// </summary>
public sealed class SetSessionStateReviewTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Fact]
    public void SetSession_OnAnEstablishedConnection_DoesNotChangeThePeerIdentity()
    {
        using SslContext alpha = SslContext.CreateServer(new SslServerOptions
        {
            MinVersion = TlsVersion.Tls12, MaxVersion = TlsVersion.Tls12, EphemeralCommonName = "alpha.example",
        });
        using SslContext beta = SslContext.CreateServer(new SslServerOptions
        {
            MinVersion = TlsVersion.Tls12, MaxVersion = TlsVersion.Tls12, EphemeralCommonName = "beta.example",
        });
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslSession alphaSession = Tls.ConnectAndCaptureLast(client, alpha, _pipe);
        Assert.True(alphaSession.IsResumable);

        using SslConnection c = client.CreateConnection("beta.example");
        using SslConnection s = beta.CreateConnection();
        _pipe.Handshake(c, s);
        Assert.True(c.TryAcquirePeerCertificate(out PeerCertificate before));
        using (before)
        {
            Assert.Contains("beta.example", before.Subject, StringComparison.Ordinal);
        }

        Exception? refused = Record.Exception(() => c.SetSession(alphaSession));

        Assert.True(c.TryAcquirePeerCertificate(out PeerCertificate after));
        using (after)
        {
            Assert.True(refused is not null || after.Subject.Contains("beta.example", StringComparison.Ordinal),
                $"SetSession on an established connection was accepted and the connection now reports peer '{after.Subject}' although it is talking to beta.example");
        }
        _pipe.Shutdown(c, s);
    }
}
