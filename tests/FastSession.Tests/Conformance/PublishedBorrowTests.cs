using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Conformance;

/// <summary>
/// TryBorrowSession's lease-free path (SslConnection.Borrow.cs, safety rule 5 in the generator README): the
/// session pointer published by the last session-changing call, with its epoch. It must behave exactly as the
/// leased get0: the same session, stale after every call that may change it, the same answers when nothing is
/// published (before the handshake, after Dispose, inside a SessionEstablished handler).
/// </summary>
public sealed class PublishedBorrowTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void PublishedView_IsTheSessionGet1Returns_AndGoesStaleOnResetAndSetSession(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);

        Assert.True(c.TryBorrowSession(out SslSessionRef view));
        Assert.True(c.TryAcquireSession(out SslSession owned));
        using (owned)
        {
            Assert.Equal(owned.Id, view.Id);
            Assert.True(view.IsValid);

            _pipe.Shutdown(c, s); // a clean close keeps the session resumable (S8); an engine call: the view is stale
            Assert.False(view.IsValid);
            c.Reset("localhost");
            ViewAssert.Throws<InvalidOperationException>(view, static v => _ = v.IsResumable);
            // Reset dropped the session: the published pointer is NULL, and borrowing says so (S3).
            Assert.False(c.TryBorrowSession(out SslSessionRef none));
            Assert.True(none.IsEmpty);

            // SetSession publishes the offered session at once, before any handshake.
            c.SetSession(owned);
            Assert.True(c.TryBorrowSession(out SslSessionRef offered));
            Assert.Equal(owned.Id, offered.Id);
        }
    }

    [Fact]
    public void AfterDispose_BorrowingThrowsObjectDisposed_AsTheLeasedPathDoes()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        Assert.True(c.TryBorrowSession(out SslSessionRef view));

        c.Dispose();

        ViewAssert.Throws<InvalidOperationException>(view, static v => _ = v.Id);
        Assert.Throws<ObjectDisposedException>(() => c.TryBorrowSession(out _));
    }

    [Fact]
    public void InsideAnEngineCall_AHandlerBorrowsThroughTheLease_AndItsViewIsStaleAfterTheCall()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        int borrowed = 0;
        bool resumableInside = false;
        client.SessionEstablished = (connection, session) =>
        {
            using (session)
            {
                // The epoch is moving (the engine call holds the connection): the leased path runs, on the holder's thread.
                if (connection.TryBorrowSession(out SslSessionRef inside))
                {
                    borrowed++;
                    resumableInside |= inside.IsResumable;
                }
            }
        };
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s); // reads the TLS 1.3 tickets too: the handler runs inside that Read

        Assert.True(borrowed > 0);
        Assert.True(resumableInside);
        Assert.True(c.TryBorrowSession(out SslSessionRef after));
        Assert.True(after.IsResumable);
    }
}
