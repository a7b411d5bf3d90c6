using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Reliability;
using Xunit;

namespace FastSession.Redis.Tests;

/// <summary>
/// The asynchronous server lookup through the engine API, in process (real handshakes, no network): the handshake pauses
/// (<see cref="SslStatus.NeedsSessionLookup"/>), the session comes from a store, and every store failure is a counted miss.
/// </summary>
public sealed class ServerSessionLookupTests : LiveObjectTest
{
    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task SessionIssuedByOneServer_ResumesOnAnother_ThroughTheStore(TlsVersion version)
    {
        var store = new DictionaryStore();
        using SslContext client = Client(version);
        using SslContext first = Server(version, store);
        using SslContext second = Server(version, store);

        (bool reused, SslSession session, _) = await ConnectAsync(client, first);
        Assert.False(reused);
        using (session)
        {
            Assert.True(store.Count > 0);
            (reused, SslSession next, SslResumptionOutcome outcome) = await ConnectAsync(client, second, session);
            next.Dispose();
            Assert.Equal(SslResumptionOutcome.Resumed, outcome);
        }
        Assert.True(reused);
        Assert.Equal(1, second.ServerSessionCacheCounters.Hits);
        Assert.Equal(0, second.ServerSessionCacheCounters.Misses);
        Assert.Equal((int)(SslServerCacheMode.NoInternal) | 0x0002, second.SessionCacheMode); // SSL_SESS_CACHE_SERVER
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task AStoreThatAnswersAtOnce_ContinuesTheHandshakeOnTheSameThread(TlsVersion version)
    {
        // fleet4: no Task, timer or thread hop when the store's ValueTask is already complete (ConnectAsync asserts the
        // lookup itself completed synchronously).
        var store = new DictionaryStore(synchronous: true);
        using SslContext client = Client(version);
        using SslContext first = Server(version, store);
        using SslContext second = Server(version, store);
        (_, SslSession session, _) = await ConnectAsync(client, first);
        bool reused;
        using (session)
        {
            (reused, SslSession next, _) = await ConnectAsync(client, second, session, expectSynchronousLookup: true);
            next.Dispose();
        }
        Assert.True(reused);
        Assert.Equal(1, second.ServerSessionCacheCounters.Hits);
    }

    [Fact]
    public async Task Tls13StatefulTicket_IsTakenFromTheStore_SoItResumesOnlyOnce()
    {
        var store = new DictionaryStore();
        using SslContext client = Client(TlsVersion.Tls13);
        using SslContext server = Server(TlsVersion.Tls13, store);
        (_, SslSession session, _) = await ConnectAsync(client, server);
        // A copy of the client's session to offer the same ticket a second time (OpenSSL's client marks a used TLS 1.3
        // session non-resumable; a replaying client would not).
        using SslSession replay = SslSession.FromDer(session.ToDer(), client);
        using (session)
        {
            (bool once, SslSession a, _) = await ConnectAsync(client, server, session);
            a.Dispose();
            Assert.True(once);
            // The same ticket again: the store gave it out already, and the server says so.
            (bool twice, SslSession b, SslResumptionOutcome outcome) = await ConnectAsync(client, server, replay);
            b.Dispose();
            Assert.False(twice);
            Assert.Equal(SslResumptionOutcome.CacheMiss, outcome);
        }
        Assert.True(store.Takes > 0);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("throws")]
    [InlineData("throws at once")]
    [InlineData("slow")]
    [InlineData("other session")]
    public async Task StoreFailure_IsAMiss_AFullHandshake_Counted(string failure)
    {
        var good = new DictionaryStore();
        using SslContext client = Client(TlsVersion.Tls12);
        using SslContext issuer = Server(TlsVersion.Tls12, good);
        (_, SslSession session, _) = await ConnectAsync(client, issuer);
        (_, SslSession other, _) = await ConnectAsync(client, issuer);
        using (session)
        using (other)
        {
            byte[] otherDer = other.ToDer();
            var bad = new FailingStore(failure, otherDer);
            using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = TlsVersion.Tls12, MaxVersion = TlsVersion.Tls12, EnableTickets = false });
            server.ServerSessionLookupTimeout = TimeSpan.FromMilliseconds(50);
            server.UseServerSessionStore(bad);
            var watch = Stopwatch.StartNew();
            (bool reused, SslSession next, SslResumptionOutcome outcome) = await ConnectAsync(client, server, session);
            next.Dispose();
            Assert.False(reused);
            // The server says why: the store had nothing usable, or it failed (OpenSSL alone reports neither).
            Assert.Equal(failure is "garbage" or "other session" ? SslResumptionOutcome.CacheMiss : SslResumptionOutcome.StoreUnavailable, outcome);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), watch.Elapsed.ToString());
            SslServerSessionCacheCounters counts = server.ServerSessionCacheCounters;
            Assert.Equal(1, counts.Lookups);
            Assert.Equal(1, counts.Misses);
            Assert.Equal(0, counts.Hits);
            Assert.Equal(failure is "garbage" or "other session" ? 1 : 0, counts.Garbage);
            Assert.Equal(failure is "throws" or "throws at once" or "slow" ? 1 : 0, counts.Errors);
        }
    }

    [Fact]
    public void MisuseIsAManagedException()
    {
        using SslContext client = Client(TlsVersion.Tls13);
        Assert.Throws<InvalidOperationException>(() => client.UseServerSessionStore(new DictionaryStore()));
        using SslContext server = Server(TlsVersion.Tls13, new DictionaryStore());
        Assert.Throws<InvalidOperationException>(() => server.UseServerSessionStore(new DictionaryStore()));
        Assert.Throws<ArgumentNullException>(() => server.UseServerSessionStore(null!));
        using SslConnection connection = server.CreateConnection();
        Assert.False(connection.TryGetSessionLookup(out _));
        Assert.Throws<InvalidOperationException>(() => connection.ProvideSession([1, 2, 3]));
        connection.Dispose();
        Assert.Throws<ObjectDisposedException>(() => connection.TryGetSessionLookup(out _));
    }

    [Fact]
    public unsafe void MirroredLayoutAndConstants_MatchTheShim()
    {
        // server_cache.c asserts the C side: 48 bytes, SSL_ERROR_WANT_CLIENT_HELLO_CB = 11, the NO_INTERNAL_* bits.
        Assert.Equal(48, sizeof(FastSession.Interop.FsServerCacheCounts));
        Assert.Equal(11, FastSession.Interop.ServerCacheNative.SslErrorWantClientHelloCb);
        Assert.Equal(0x0300, (int)SslServerCacheMode.NoInternal);
        var before = SslServerSessionCacheCounters.Native;
        Assert.True(before.Lookups >= 0 && before.Skipped >= 0);
    }

    private static SslContext Client(TlsVersion version) =>
        SslContext.CreateClient(new SslClientOptions { MinVersion = version, MaxVersion = version, DangerousAcceptAnyServerCertificate = true });

    [Fact]
    public void AContextThatDecidesEarlyData_RefusesAServerStore()
    {
        // Both need the SSL_CTX's one client-hello callback; the store's would silently turn every early byte into a rejection.
        using SslContext server = SslContext.CreateServer(new SslServerOptions
        {
            MinVersion = TlsVersion.Tls13,
            DangerousEnableReplayableEarlyData = true,
            EarlyDataPolicy = _ => true,
        });
        var e = Assert.Throws<InvalidOperationException>(() => server.UseServerSessionStore(new DictionaryStore()));
        Assert.Contains("early data", e.Message, StringComparison.Ordinal);
        Assert.Null(server.ServerSessionStore);
    }

    private static SslContext Server(TlsVersion version, ISslServerSessionStore store)
    {
        SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version, EnableTickets = false });
        server.ServerSessionLookupTimeout = TimeSpan.FromSeconds(5);
        server.UseServerSessionStore(store);
        return server;
    }

    /// <summary>A handshake driven through the engine API, answering the server's lookups as FastSslStream does; then a clean close.</summary>
    private static async Task<(bool Reused, SslSession Last, SslResumptionOutcome ServerOutcome)> ConnectAsync(SslContext clientContext, SslContext serverContext, SslSession resumeWith = default, bool expectSynchronousLookup = false)
    {
        using SslConnection c = clientContext.CreateConnection("localhost");
        using SslConnection s = serverContext.CreateConnection();
        if (!resumeWith.IsNone)
        {
            c.SetSession(resumeWith);
        }
        byte[] toServer = new byte[64 * 1024], toClient = new byte[64 * 1024], plain = new byte[1024];
        await EngineHandshake.DriveAsync(c, s, toServer, toClient, plain, expectSynchronousLookup);
        int close = c.Shutdown(toServer).OutputBytes;
        s.Read(toServer.AsSpan(0, close), plain, toClient);
        s.Shutdown(toClient);
        SslSession last = EngineDrive.TakeNewest(c);
        return (c.SessionReused, last, s.ResumptionOutcome);
    }

    private sealed class DictionaryStore(bool synchronous = false) : ISslServerSessionStore
    {
        public bool Synchronous => synchronous;

        private readonly ConcurrentDictionary<string, byte[]> _sessions = new();
        private int _takes;

        public int Count => _sessions.Count;

        public int Takes => _takes;

        public ValueTask<bool> AddAsync(ReadOnlyMemory<byte> sessionId, byte[] der, TimeSpan lifetime, CancellationToken cancellationToken = default)
        {
            _sessions[Convert.ToHexString(sessionId.Span)] = der;
            return ValueTask.FromResult(true);
        }

        public async ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> sessionId, bool take, CancellationToken cancellationToken = default)
        {
            if (!synchronous)
            {
                await Task.Yield(); // a real store answers later, on another thread
            }
            string key = Convert.ToHexString(sessionId.Span);
            if (take)
            {
                Interlocked.Increment(ref _takes);
                return _sessions.TryRemove(key, out byte[]? taken) ? taken : null;
            }
            return _sessions.TryGetValue(key, out byte[]? der) ? der : null;
        }

        public ValueTask<bool> RemoveAsync(ReadOnlyMemory<byte> sessionId, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(_sessions.TryRemove(Convert.ToHexString(sessionId.Span), out _));
    }

    private sealed class FailingStore(string failure, byte[] otherSession) : ISslServerSessionStore
    {
        public ValueTask<bool> AddAsync(ReadOnlyMemory<byte> sessionId, byte[] der, TimeSpan lifetime, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(false);

        // "throws at once": before any await, so the exception comes out of the call itself, not its ValueTask.
        public ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> sessionId, bool take, CancellationToken cancellationToken = default) =>
            failure == "throws at once" ? throw new InvalidOperationException("the store is broken at once") : GetLaterAsync(cancellationToken);

        private async ValueTask<byte[]?> GetLaterAsync(CancellationToken cancellationToken)
        {
            await Task.Yield();
            return failure switch
            {
                "garbage" => [0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef],
                "throws" => throw new InvalidOperationException("the store is broken"),
                "slow" => await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken).ContinueWith(_ => (byte[]?)null, TaskScheduler.Default),
                _ => otherSession, // a real session, but not the one asked for
            };
        }

        public ValueTask<bool> RemoveAsync(ReadOnlyMemory<byte> sessionId, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(false);
    }
}
