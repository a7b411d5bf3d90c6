using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Conformance;

/// <summary>
/// S9, S11, S12: single use of TLS 1.3 sessions; removal by timeout in SSL_CTX_flush_sessions; one
/// SSL_SESSION per SSL_CTX.
/// </summary>
public sealed class ContextAndCacheTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Fact]
    public void S11_FlushExpiredSessions_RemovesTimedOutSessionsFromTheServerCache()
    {
        // Session ids (no tickets) so the server must find the session in its own cache.
        using SslContext server = Tls.Server(TlsVersion.Tls12, tickets: false, timeout: TimeSpan.FromSeconds(60));
        using SslContext client = Tls.Client(TlsVersion.Tls12, tickets: false);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        Assert.Equal(1, server.CachedSessionCount);

        server.FlushExpiredSessions(DateTimeOffset.UtcNow);
        Assert.Equal(1, server.CachedSessionCount);

        server.FlushExpiredSessions(DateTimeOffset.UtcNow.AddSeconds(120));
        Assert.Equal(0, server.CachedSessionCount);

        // The client still holds a resumable-looking session, but the server no longer knows it:
        // the next handshake is full.
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        c.SetSession(session);
        _pipe.Handshake(c, s);
        Assert.False(c.SessionReused);
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void S11_SessionTimeoutOption_IsTheSessionsTimeout()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, timeout: TimeSpan.FromSeconds(42));
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);

        SslSessionInfo info = session.Info;
        Assert.Equal(42u, info.TicketLifetimeHint);
    }

    [Fact]
    public void S12_SetSessionWithASessionOfAnotherContext_ThrowsNamingBothContexts()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext clientA = Tls.Client(TlsVersion.Tls12);
        using SslContext clientB = Tls.Client(TlsVersion.Tls12);
        using SslSession session = Tls.ConnectAndCaptureLast(clientA, server, _pipe);
        Assert.Equal(clientA.Id, session.ContextId);
        using SslConnection other = clientB.CreateConnection("localhost");

        SslContextMismatchException e = Assert.Throws<SslContextMismatchException>(() => other.SetSession(session));

        Assert.Equal(clientA.Id, e.SessionContextId);
        Assert.Equal(clientB.Id, e.ConnectionContextId);
        Assert.Contains($"#{clientA.Id}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"#{clientB.Id}", e.Message, StringComparison.Ordinal);
        Assert.Contains("RebindTo", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void S12_RebindThroughDer_ResumesOnTheOtherContext(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext clientA = Tls.Client(version);
        using SslContext clientB = Tls.Client(version);
        using SslSession session = Tls.ConnectAndCaptureLast(clientA, server, _pipe);

        using SslSession rebound = session.RebindTo(clientB);

        Assert.Equal(clientB.Id, rebound.ContextId);
        Assert.Equal(clientA.Id, session.ContextId);
        using SslConnection c = clientB.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        c.SetSession(rebound);
        _pipe.Handshake(c, s);
        Assert.True(c.SessionReused);
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void S9_Tls13Session_IsHandedOutOnce_ByTheClientCache()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 1);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using var cache = new SslClientSessionCache();
        client.SessionEstablished = cache.OnSessionEstablished;
        var key = new SslSessionCacheKey("localhost", 443);
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            c.CacheKey = key;
            _pipe.Handshake(c, s);
            _pipe.Shutdown(c, s);
        }
        Assert.Equal(1, cache.Count);

        Assert.True(cache.TryTake(key, out SslSession once));
        Assert.False(cache.TryTake(key, out _));
        using (once)
        {
            Assert.True(once.IsResumable);
        }
        SslSessionCacheStatistics stats = cache.Statistics;
        Assert.Equal(1, stats.Hits);
        Assert.Equal(1, stats.Misses);
        Assert.Equal(1, stats.SingleUseConsumed);
    }

    [Fact]
    public void S9_Tls12Session_MayBeReusedUntilItExpires()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using var cache = new SslClientSessionCache();
        var key = new SslSessionCacheKey("localhost", 443);
        Assert.True(cache.Add(key, Tls.ConnectAndCaptureLast(client, server, _pipe)));

        for (int i = 0; i < 3; i++)
        {
            Assert.True(cache.TryTake(key, out SslSession session));
            using (session)
            {
                using SslConnection c = client.CreateConnection("localhost");
                using SslConnection s = server.CreateConnection();
                c.SetSession(session);
                _pipe.Handshake(c, s);
                Assert.True(c.SessionReused);
                _pipe.Shutdown(c, s);
                while (c.TryTakeNewSession(out SslSession ticket))
                {
                    ticket.Dispose();
                }
            }
        }
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void S5_ClientCache_RejectsNonResumableSessions()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using var cache = new SslClientSessionCache();
        SslSession session;
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            _pipe.Handshake(c, s);
            Assert.True(c.TryAcquireSession(out session));
            while (c.TryTakeNewSession(out SslSession t))
            {
                t.Dispose();
            }
        } // unclean: not resumable (S8)

        Assert.False(cache.Add(new SslSessionCacheKey("localhost", 443), session));
        Assert.True(session.IsDisposed);
        Assert.Equal(1, cache.Statistics.RejectedNotResumable);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void ClientCache_DropsSessionsPastTheirTimeout()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12, timeout: TimeSpan.FromSeconds(30));
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        using var cache = new SslClientSessionCache(timeProvider: clock);
        var key = new SslSessionCacheKey("localhost", 443);
        Assert.True(cache.Add(key, Tls.ConnectAndCaptureLast(client, server, _pipe)));

        clock.Now = clock.Now.AddSeconds(60);

        Assert.False(cache.TryTake(key, out _));
        Assert.Equal(1, cache.Statistics.Expired);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void ClientCache_IsBounded_EvictingTheOldest()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using var cache = new SslClientSessionCache(capacity: 2, perKey: 1);
        for (int port = 1; port <= 3; port++)
        {
            Assert.True(cache.Add(new SslSessionCacheKey("localhost", port), Tls.ConnectAndCaptureLast(client, server, _pipe)));
        }

        Assert.Equal(2, cache.Count);
        Assert.Equal(1, cache.Statistics.Evicted);
        Assert.False(cache.TryTake(new SslSessionCacheKey("localhost", 1), out _));
        Assert.True(cache.TryTake(new SslSessionCacheKey("localhost", 3), out SslSession newest));
        newest.Dispose();
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
