using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Review;

/// <summary>
/// Review findings around <see cref="SslContext.SessionEstablished"/> handlers that throw.
/// SslConnection.DeliverNewSessions treats a session as the handler's once the handler was called, and lets the
/// handler's exception escape from the engine call (Handshake/Read/Write) after the native call already ran.
/// </summary>
public sealed class SessionHandlerExceptionReviewTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    /// <summary>
    /// SslClientSessionCache.OnSessionEstablished (the library's own handler) throws ObjectDisposedException once the
    /// cache is disposed — from Add, before it took ownership — so the session it was handed is never freed
    /// (only the slot finalizer eventually does). Same for a CacheKey whose Host is null (ArgumentNullException).
    /// </summary>
    [Fact]
    public void DisposedCacheAsHandler_DoesNotLeakTheSessionItWasHanded()
    {
        long baseline = LiveObjectCounts.Current.Sessions;
        SslContext server = Tls.Server(TlsVersion.Tls12);
        SslContext client = Tls.Client(TlsVersion.Tls12);
        var cache = new SslClientSessionCache();
        client.SessionEstablished = cache.OnSessionEstablished;
        cache.Dispose(); // e.g. application shutdown while a connection is still handshaking
        SslConnection c = client.CreateConnection("localhost");
        SslConnection s = server.CreateConnection();
        c.CacheKey = new SslSessionCacheKey("localhost", 443);

        Exception? thrown = Record.Exception(() => _pipe.Handshake(c, s));

        c.Dispose();
        s.Dispose();
        client.Dispose();
        server.Dispose();
        // No GC here: every session must have been freed deterministically by the Dispose calls above.
        long live = LiveObjectCounts.Current.Sessions;
        Assert.True(live == baseline,
            $"{live - baseline} SSL_SESSION(s) leaked after the handler threw {thrown?.GetType().Name}: {thrown?.Message}");
    }

    /// <summary>
    /// A throwing handler makes Read throw after SSL_read_ex already decrypted the application data that arrived
    /// together with the ticket: the caller never learns PlaintextBytes, the connection is not faulted, and the
    /// next Read returns nothing — the data is silently lost from a connection that keeps working.
    /// </summary>
    [Fact]
    public void ThrowingHandler_DuringRead_DoesNotSilentlyLoseDecryptedData()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 1);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        bool throwOnce = true;
        client.SessionEstablished = (connection, session) =>
        {
            session.Dispose();
            if (throwOnce)
            {
                throwOnce = false;
                throw new InvalidOperationException("handler failed");
            }
        };
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        byte[] toServer = new byte[64 * 1024];
        byte[] toClient = new byte[64 * 1024];
        byte[] plaintext = new byte[1024];

        int n = c.Handshake(default, toServer).OutputBytes;
        int m = s.Handshake(toServer.AsSpan(0, n), toClient).OutputBytes;
        n = c.Handshake(toClient.AsSpan(0, m), toServer).OutputBytes;
        m = s.Handshake(toServer.AsSpan(0, n), toClient).OutputBytes;         // the ticket
        m += s.Write("hello"u8, toClient.AsSpan(m)).OutputBytes;              // + application data, same flight

        Exception? thrown = Record.Exception(() => c.Read(toClient.AsSpan(0, m), plaintext, toServer));
        Assert.NotNull(thrown);

        if (c.IsFaulted)
        {
            // The documented contract: the lost result faults the connection, so nothing continues silently.
            Assert.Throws<InvalidOperationException>(() => c.Read(default, plaintext, toServer));
            return;
        }
        SslIoResult next = c.Read(default, plaintext, toServer);
        Assert.True(next.PlaintextBytes == 5,
            $"Read threw ({thrown!.Message}) after decrypting 5 bytes; the connection is not faulted and the next Read returned {next.PlaintextBytes} bytes ({next.Status}): the data is lost");
    }
}
