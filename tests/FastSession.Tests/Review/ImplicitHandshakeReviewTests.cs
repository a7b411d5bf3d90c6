using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Review;

/// <summary>
/// Review finding on fix 4a8eccd (incomplete): SetSession refuses once _handshakeStarted is set, but only Handshake
/// sets it. SSL_write_ex / SSL_read_ex on a connection whose handshake has not run perform it implicitly (the
/// ClientHello goes out from Write), so after a Write the session can still be swapped under an in-flight handshake.
/// The check should be "not in the before state" (SSL_in_before), or Read/Write should set the flag too.
/// </summary>
public sealed class ImplicitHandshakeReviewTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Fact]
    public void SetSession_AfterWriteStartedTheHandshake_IsRefused()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        Assert.True(session.IsResumable);
        using SslConnection c = client.CreateConnection("localhost");
        byte[] output = new byte[64 * 1024];

        SslIoResult r = c.Write("early"u8, output);   // runs SSL_connect implicitly: the ClientHello is out
        Assert.Equal(SslStatus.NeedsInput, r.Status);
        Assert.True(r.OutputBytes > 0, "the implicit handshake should have produced a ClientHello");

        Assert.Throws<InvalidOperationException>(() => c.SetSession(session));
    }
}
