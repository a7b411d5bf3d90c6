using System;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Found by <see cref="PublicApiRaceTests"/>: two threads stuck forever in <c>SSL_CTX_flush_sessions</c> (and one in
/// <c>SSL_CTX_free</c>), and crashes inside <c>SSL_SESSION_set_time</c>. OpenSSL 3.0 links a cached session into its
/// context's list; <c>SSL_SESSION_set_time</c>/<c>set_timeout</c> relink it through an owner pointer read without a lock
/// (racing the removals the engine makes by itself), and <c>SSL_CTX_add_session</c> into a second context corrupts the
/// first list. One <c>SSL_SESSION</c> sits in one context's cache only, and a session that is (or may be) in a cache is
/// never re-timed: these sequences of public calls must keep every list whole (the C side:
/// native-shim/tests/test_session_cache_owner.c).
/// </summary>
public sealed class SessionCacheLinkTests : LiveObjectTest
{
    private readonly ITestOutputHelper _output;

    public SessionCacheLinkTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void SetTimeOnACachedServerSession_IsRefused_AndACopyReplacesIt()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls12, tickets: false);
        using SslContext server = Tls.Server(TlsVersion.Tls12, tickets: false);
        var pipe = new SslMemoryPipe();
        SslSession clientSide, cached;
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            pipe.Handshake(c, s);
            pipe.Shutdown(c, s);
            Assert.True(s.TryAcquireSession(out cached));
            Assert.True(c.TryAcquireSession(out clientSide));
        }
        using (clientSide)
        using (cached)
        {
            Assert.Equal(1, server.CachedSessionCount);
            var refused = Assert.Throws<InvalidOperationException>(() => cached.SetTime(DateTimeOffset.UtcNow.AddHours(-2)));
            Assert.Contains("Copy()", refused.Message, StringComparison.Ordinal);
            Assert.Throws<InvalidOperationException>(() => cached.SetTimeout(TimeSpan.FromSeconds(60)));

            // A client session is in no cache: free to re-time.
            clientSide.SetTimeout(TimeSpan.FromSeconds(600));
            Assert.Equal(600, (long)clientSide.Info.Timeout.TotalSeconds);

            // The documented way: re-time a copy and add it; it replaces the cached session (same id) and expires.
            using SslSession aged = cached.Copy();
            aged.SetTimeout(TimeSpan.FromSeconds(60));
            aged.SetTime(DateTimeOffset.UtcNow.AddHours(-2));
            Assert.True(server.AddSession(aged));
            Assert.Equal(1, server.CachedSessionCount);
            Assert.Throws<InvalidOperationException>(() => aged.SetTime(DateTimeOffset.UtcNow)); // cached now
            server.FlushExpiredSessions(DateTimeOffset.UtcNow);
            Assert.Equal(0, server.CachedSessionCount);
        }
    }

    /// <summary>
    /// SetTime/SetTimeout on a cached session racing removals and re-adds from another thread, while handshakes make the
    /// engine cache, look up and evict sessions of the same context by itself (a 4-entry cache, so every new session
    /// evicts the tail). SetTime must refuse every time and the cache's list must stay whole: the final flush returns.
    /// </summary>
    [Fact]
    public async Task SetTimeOnACachedSession_RacingRemoveAddFlushAndTheEngine_IsRefusedAndNeverCorruptsTheCache()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls12, tickets: false);
        using SslContext server = SslContext.CreateServer(new SslServerOptions
        {
            MinVersion = TlsVersion.Tls12,
            MaxVersion = TlsVersion.Tls12,
            EnableTickets = false,
            SessionCacheSize = 4,
        });
        var pipe = new SslMemoryPipe();
        long refused = 0, copiesRetimed = 0, rounds = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < Race.Duration)
        {
            SslSession cached, offered;
            using (SslConnection c = client.CreateConnection("localhost"))
            using (SslConnection s = server.CreateConnection())
            {
                pipe.Handshake(c, s);
                pipe.Shutdown(c, s);
                Assert.True(s.TryAcquireSession(out cached));
                Assert.True(c.TryAcquireSession(out offered));
            }
            using (offered)
            using (cached)
            {
                using var go = new Barrier(3);
                Task setter = Task.Run(() =>
                {
                    go.SignalAndWait();
                    for (int i = 0; i < 100; i++)
                    {
                        Assert.Throws<InvalidOperationException>(() => cached.SetTime(DateTimeOffset.UtcNow.AddSeconds(i % 7)));
                        Assert.Throws<InvalidOperationException>(() => cached.SetTimeout(TimeSpan.FromSeconds(100 + i)));
                        Interlocked.Add(ref refused, 2);
                        using SslSession copy = cached.Copy();
                        copy.SetTime(DateTimeOffset.UtcNow.AddSeconds(-(i % 3)));
                        copy.SetTimeout(TimeSpan.FromSeconds(1 + (i % 5)));
                        Interlocked.Increment(ref copiesRetimed);
                        server.AddSession(copy);
                    }
                });
                Task engine = Task.Run(() =>
                {
                    var enginePipe = new SslMemoryPipe();
                    go.SignalAndWait();
                    for (int i = 0; i < 20; i++)
                    {
                        // Resumption attempts by id (hits, misses, expired lookups that remove) and new sessions (evictions).
                        using SslConnection c = client.CreateConnection("localhost");
                        using SslConnection s = server.CreateConnection();
                        if (i % 2 == 0 && offered.IsResumable)
                        {
                            try { c.SetSession(offered); } catch (ArgumentException) { } catch (InvalidOperationException) { }
                        }
                        enginePipe.Handshake(c, s);
                        if (i % 3 != 0)
                        {
                            enginePipe.Shutdown(c, s); // otherwise freed uncleanly: OpenSSL removes the session
                        }
                    }
                });
                go.SignalAndWait();
                for (int i = 0; i < 100; i++)
                {
                    server.RemoveSession(cached);
                    server.AddSession(cached);
                    if (i % 16 == 0)
                    {
                        server.FlushExpiredSessions(DateTimeOffset.UtcNow.AddSeconds(3));
                    }
                }
                await Task.WhenAll(setter, engine);
            }
            rounds++;
        }
        Task flush = Task.Run(() => server.FlushExpiredSessions(DateTimeOffset.UtcNow.AddDays(2)));
        Assert.True(ReferenceEquals(flush, await Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds(10)))), "FlushExpiredSessions is looping: the cache's list is corrupt");
        await flush;
        Assert.Equal(0, server.CachedSessionCount);
        _output.WriteLine($"{rounds} rounds, {refused} SetTime/SetTimeout refusals, {copiesRetimed} copies re-timed and added, against RemoveSession/AddSession/FlushExpiredSessions and engine handshakes");
    }

    public static TheoryData<string> Sequences => new() { "copy-settime", "client-add", "copy-add", "dup-add-remove", "rebind-add", "fromder-add" };

    [Theory]
    [MemberData(nameof(Sequences))]
    public async Task ACachedServerSession_ThroughPublicCalls_StaysInOneCache(string sequence)
    {
        using SslContext client = Tls.Client(TlsVersion.Tls12, tickets: false);
        using SslContext server = Tls.Server(TlsVersion.Tls12, tickets: false);
        var pipe = new SslMemoryPipe();
        SslSession cached;
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            pipe.Handshake(c, s);
            pipe.Shutdown(c, s);
            Assert.True(s.TryAcquireSession(out cached));
        }
        using (cached)
        {
            Assert.Equal(1, server.CachedSessionCount);
            switch (sequence)
            {
                case "copy-settime":
                    using (SslSession copy = cached.Copy())
                    {
                        copy.SetTime(DateTimeOffset.UtcNow.AddSeconds(5));
                    }
                    break;
                case "client-add":
                    var mismatch = Assert.Throws<SslContextMismatchException>(() => client.AddSession(cached));
                    Assert.Equal(server.Id, mismatch.SessionContextId);
                    Assert.Equal(client.Id, mismatch.ConnectionContextId);
                    break;
                case "copy-add":
                    using (SslSession copy = cached.Copy())
                    {
                        Assert.True(server.AddSession(copy)); // replaces the original (same id)
                        Assert.Throws<SslContextMismatchException>(() => client.AddSession(copy));
                        Assert.Throws<InvalidOperationException>(() => copy.SetTime(DateTimeOffset.UtcNow.AddSeconds(5)));
                    }
                    break;
                case "dup-add-remove":
                    using (SslSession dup = cached.Duplicate())
                    {
                        Assert.False(server.AddSession(dup)); // the same object: already cached
                        Assert.True(server.RemoveSession(dup));
                        Assert.True(server.AddSession(dup));
                    }
                    break;
                case "rebind-add":
                    using (SslSession rebound = cached.RebindTo(client))
                    {
                        rebound.SetTime(DateTimeOffset.UtcNow.AddSeconds(5)); // a new object in no cache
                        Assert.True(client.AddSession(rebound));
                        Assert.Throws<SslContextMismatchException>(() => server.AddSession(rebound));
                        Assert.Throws<InvalidOperationException>(() => rebound.SetTime(DateTimeOffset.UtcNow.AddSeconds(5)));
                    }
                    break;
                default:
                    using (SslSession imported = SslSession.FromDer(cached.ToDer(), server))
                    {
                        imported.SetTime(DateTimeOffset.UtcNow.AddSeconds(5));
                        Assert.True(server.AddSession(imported));
                        Assert.Throws<SslContextMismatchException>(() => client.AddSession(imported));
                        Assert.Throws<InvalidOperationException>(() => imported.SetTime(DateTimeOffset.UtcNow.AddSeconds(5)));
                    }
                    break;
            }
            Assert.Throws<InvalidOperationException>(() => cached.SetTime(DateTimeOffset.UtcNow.AddSeconds(10)));
        }
        Task flush = Task.Run(() =>
        {
            server.FlushExpiredSessions(DateTimeOffset.UtcNow.AddDays(2));
            client.FlushExpiredSessions(DateTimeOffset.UtcNow.AddDays(2));
        });
        Assert.True(ReferenceEquals(flush, await Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds(10)))), "FlushExpiredSessions is looping: a session is linked into two lists");
        await flush;
        Assert.Equal(0, server.CachedSessionCount);
        Assert.Equal(0, client.CachedSessionCount);
    }
}
