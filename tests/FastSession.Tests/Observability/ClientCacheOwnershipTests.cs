using System;
using FastSession.Tests.Infrastructure;
using Xunit;
using static FastSession.FastSessionTelemetry;

namespace FastSession.Tests.Observability;

/// <summary>
/// Issue 10, item 7: the client cache owns what it is given. A duplicate add is refused, a session disposed by its giver
/// after the add changes nothing, an unusable session is refused and counted, and no later take ever throws for it.
/// </summary>
public sealed class ClientCacheOwnershipTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();
    private static readonly SslSessionCacheKey Key = new("localhost", 443);

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void AddingTheSameSessionTwice_IsRefused_AndTakesKeepWorking(TlsVersion version)
    {
        using var metrics = new MetricRecorder();
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        using var cache = new SslClientSessionCache();
        SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        SslSession copy = session.Duplicate(); // the same SSL_SESSION through another handle

        Assert.True(cache.Add(Key, session));
        Assert.False(cache.Add(Key, session)); // the very same handle again (the cache disposed it on the first add)
        Assert.False(cache.Add(Key, copy));    // the same SSL_SESSION: a TLS 1.3 ticket must not be handed out twice (S9)
        Assert.True(copy.IsDisposed);          // refused, yet owned: disposed by the cache

        Assert.Equal(1, cache.Count);
        SslSessionCacheStatistics stats = cache.Statistics;
        Assert.Equal(1, stats.Duplicates);
        Assert.Equal(1, stats.Dropped);
        Assert.True(cache.TryTake(Key, out SslSession taken));
        using (taken)
        {
            Assert.True(taken.IsResumable);
        }
        Assert.Equal(1, metrics.Sum(CacheRejections, (CacheRejectionTag, "duplicate")));
        Assert.Equal(1, metrics.Sum(CacheRejections, (CacheRejectionTag, "disposed")));
        Assert.Equal(1, metrics.Sum(CacheHits));
        Assert.Equal(version == TlsVersion.Tls13 ? 1 : 0, metrics.Sum(CacheSingleUse));
    }

    [Fact]
    public void DisposingASessionAfterHandingItToTheCache_LeavesTheCachedEntryUsable()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using var cache = new SslClientSessionCache();
        SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        SslSession alias = session; // a copy of the handle the caller keeps

        Assert.True(cache.Add(Key, session));
        alias.Dispose(); // harmless: the cache holds its own reference

        for (int i = 0; i < 3; i++)
        {
            Assert.True(cache.TryTake(Key, out SslSession taken));
            using (taken)
            using (SslConnection c = client.CreateConnection("localhost"))
            using (SslConnection s = server.CreateConnection())
            {
                c.SetSession(taken);
                _pipe.Handshake(c, s);
                Assert.Equal(SslResumptionOutcome.Resumed, c.ResumptionOutcome);
                _pipe.Shutdown(c, s);
                while (c.TryTakeNewSession(out SslSession t))
                {
                    t.Dispose();
                }
            }
        }
    }

    [Fact]
    public void AddingADisposedSession_ReturnsFalse_AndIsCountedAsDropped()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using var cache = new SslClientSessionCache();
        SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        session.Dispose();

        Assert.False(cache.Add(Key, session));
        Assert.False(cache.TryTake(Key, out _));
        Assert.Equal(1, cache.Statistics.Dropped);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void EvictionsAreCountedOnTheMeter()
    {
        using var metrics = new MetricRecorder();
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using var cache = new SslClientSessionCache(capacity: 2, perKey: 1);
        for (int port = 1; port <= 3; port++)
        {
            Assert.True(cache.Add(new SslSessionCacheKey("localhost", port), Tls.ConnectAndCaptureLast(client, server, _pipe)));
        }
        Assert.True(cache.Add(new SslSessionCacheKey("localhost", 3), Tls.ConnectAndCaptureLast(client, server, _pipe)));

        Assert.Equal(2, cache.Statistics.Evicted);
        Assert.Equal(2, metrics.Sum(CacheEvictions));
    }
}
