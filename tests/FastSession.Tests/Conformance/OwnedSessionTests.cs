using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Conformance;

/// <summary>
/// S2: SSL_get1_session increments the reference count; the caller must call SSL_SESSION_free exactly once.
/// Observed through the shim's live SSL_SESSION count.
/// </summary>
public sealed class OwnedSessionTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void S2_AcquiredSession_OutlivesItsConnection_AndDisposeFreesItOnce(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        SslSession owned;
        SslSessionId id;
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            _pipe.Handshake(c, s);
            Assert.True(c.TryAcquireSession(out owned));
            id = owned.Id;
            _pipe.Shutdown(c, s);
            while (c.TryTakeNewSession(out SslSession ticket))
            {
                ticket.Dispose();
            }
        }

        // The connection is gone; our reference keeps exactly one session alive.
        Assert.False(owned.IsDisposed);
        Assert.Equal(id, owned.Id);
        Assert.Equal(version, owned.Protocol);
        long withOwned = LiveObjectCounts.Current.Sessions;

        owned.Dispose();

        // Ours was the last reference: exactly one SSL_SESSION is freed, exactly once.
        Assert.True(owned.IsDisposed);
        Assert.Equal(withOwned - 1, LiveObjectCounts.Current.Sessions);
    }

    [Fact]
    public void S2_SecondDispose_AndDisposeOfACopy_DoNothing()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        SslSession owned = Tls.ConnectAndCaptureLast(client, server, _pipe);
        SslSession copy = owned;
        long live = LiveObjectCounts.Current.Sessions;

        owned.Dispose();
        long afterFirst = LiveObjectCounts.Current.Sessions;
        owned.Dispose();
        copy.Dispose();

        Assert.Equal(afterFirst, LiveObjectCounts.Current.Sessions);
        Assert.Equal(live - 1, afterFirst);
        Assert.True(copy.IsDisposed);
    }

    [Fact]
    public void S2_UseAfterDispose_ThrowsObjectDisposed_AlsoThroughACopy()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        SslSession owned = Tls.ConnectAndCaptureLast(client, server, _pipe);
        SslSession copy = owned;
        owned.Dispose();

        Assert.Throws<ObjectDisposedException>(() => owned.IsResumable);
        Assert.Throws<ObjectDisposedException>(() => copy.Id);
        Assert.Throws<ObjectDisposedException>(() => copy.ToDer());
        using SslConnection c = client.CreateConnection("localhost");
        Assert.Throws<ObjectDisposedException>(() => c.SetSession(copy));
    }

    [Fact]
    public void S2_DisposedSlotReusedByANewSession_OldCopyStillThrows()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        SslSession first = Tls.ConnectAndCaptureLast(client, server, _pipe);
        SslSession stale = first;
        first.Dispose();

        // The pool hands the same slot to the next session; the stale copy must not see it.
        using SslSession second = Tls.ConnectAndCaptureLast(client, server, _pipe);

        Assert.Throws<ObjectDisposedException>(() => stale.Id);
        Assert.NotEqual(stale, second);
        Assert.False(second.IsDisposed);
        stale.Dispose();
        Assert.False(second.IsDisposed);
    }

    [Fact]
    public void S2_Duplicate_IsASecondReference()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        SslSession owned = Tls.ConnectAndCaptureLast(client, server, _pipe);
        SslSession duplicate = owned.Duplicate();

        owned.Dispose();

        Assert.True(duplicate.IsResumable);
        duplicate.Dispose();
    }

    [Fact]
    public void DefaultSession_IsNone_AndSafeToDispose()
    {
        SslSession none = default;

        Assert.True(none.IsNone);
        Assert.True(none.IsDisposed);
        none.Dispose();
        Assert.Throws<ObjectDisposedException>(() => none.IsResumable);
    }
}
