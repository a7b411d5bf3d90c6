using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Conformance;

/// <summary>
/// S1, S3, S10: SSL_get0_session returns the session without taking a reference; the pointer is only valid
/// while the connection is in use and becomes invalid after SSL_clear / SSL_free or any operation that
/// changes the session. FastSession's view throws instead of touching freed memory.
/// </summary>
public sealed class BorrowedViewTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void S1_BorrowedView_AfterHandshake_ReadsTheConnectionsSession(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);

        Assert.True(c.TryBorrowSession(out SslSessionRef view));
        Assert.True(view.IsValid);
        Assert.Equal(version, view.Protocol);
        view.GetInfo(out SslSessionInfo info);
        Assert.Equal(version, info.Protocol);
        Assert.Equal(client.Id, info.ContextId);
        Assert.False(string.IsNullOrEmpty(info.CipherName));
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void S3_NoSessionBeforeTheHandshake_TryBorrowAndTryAcquireReturnFalse()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");

        Assert.False(c.TryBorrowSession(out SslSessionRef view));
        Assert.True(view.IsEmpty);
        Assert.False(c.TryAcquireSession(out SslSession owned));
        Assert.True(owned.IsNone);
    }

    [Fact]
    public void S3_EmptyView_AccessorThrowsInvalidOperation()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        c.TryBorrowSession(out SslSessionRef view);

        ViewAssert.Throws<InvalidOperationException>(view, static v => _ = v.IsResumable);
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void S1_ViewUsedAfterAnotherEngineCall_ThrowsInsteadOfReadingFreedMemory(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        Assert.True(c.TryBorrowSession(out SslSessionRef view));

        // Any read may receive a TLS 1.3 ticket, which replaces (and frees) the client's session.
        byte[] received = new byte[64];
        _pipe.Send(s, c, "ping"u8, received);

        Assert.False(view.IsValid);
        InvalidOperationException e = ViewAssert.Throws<InvalidOperationException>(view, static v => _ = v.IsResumable);
        Assert.Contains("stale", e.Message, StringComparison.OrdinalIgnoreCase);
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void S10_ViewAfterReset_Throws()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        Assert.True(c.TryBorrowSession(out SslSessionRef view));

        c.Reset();

        ViewAssert.Throws<InvalidOperationException>(view, static v => _ = v.IsResumable);
    }

    [Fact]
    public void S10_ViewAfterDispose_Throws()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        Assert.True(c.TryBorrowSession(out SslSessionRef view));

        c.Dispose();

        Assert.False(view.IsValid);
        ViewAssert.Throws<InvalidOperationException>(view, static v => _ = v.IsResumable);
    }

    [Fact]
    public void S1_ViewAfterSetSession_Throws()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslSession first = Tls.ConnectAndCaptureLast(client, server, _pipe);
        using SslSession second = Tls.ConnectAndCaptureLast(client, server, _pipe);
        using SslConnection c = client.CreateConnection("localhost");
        c.SetSession(first);
        Assert.True(c.TryBorrowSession(out SslSessionRef view));
        Assert.Equal(first.Id, view.Id);

        c.SetSession(second);

        ViewAssert.Throws<InvalidOperationException>(view, static v => _ = v.IsResumable);
        Assert.True(c.TryBorrowSession(out SslSessionRef current));
        Assert.Equal(second.Id, current.Id);
    }

    [Fact]
    public void S1_ToOwned_TakesAReferenceThatOutlivesTheConnection()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        SslSession owned;
        SslSessionId id;
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            _pipe.Handshake(c, s);
            Assert.True(c.TryBorrowSession(out SslSessionRef view));
            id = view.Id;
            owned = view.ToOwned();
            _pipe.Shutdown(c, s);
        }

        using (owned)
        {
            Assert.Equal(id, owned.Id);
            Assert.True(owned.IsResumable);
        }
    }

    [Fact]
    public void S1_PeerCertificateView_IsBoundToTheSameEpoch()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);

        Assert.True(c.TryBorrowPeerCertificate(out PeerCertificateRef view));
        Assert.Contains("localhost", view.Subject, StringComparison.Ordinal);
        Assert.True(c.TryAcquirePeerCertificate(out PeerCertificate owned));
        using (owned)
        {
            Assert.Equal(view.GetRawData(), owned.GetRawData());
            c.Reset();
            ViewAssert.Throws<InvalidOperationException>(view, static v => _ = v.Subject);
            Assert.Contains("localhost", owned.Subject, StringComparison.Ordinal);
        }
    }
}
