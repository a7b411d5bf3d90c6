using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Reliability;
using FastSession.Tests.Streams;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Misuse;

/// <summary>
/// The server session store's public members (<see cref="SslContext.UseServerSessionStore"/>, <see cref="SslConnection.TryGetSessionLookup"/>,
/// <see cref="SslConnection.ProvideSession"/>, <see cref="SslContext.ServerSessionLookupTimeout"/>) called in wrong orders and fed by a
/// hostile store: every call works or throws what it documents; a store's garbage costs a full handshake, never the connection.
/// Real handshakes over memory (engine) and loopback sockets (<see cref="FastSslStream"/>).
/// </summary>
public sealed class ServerStoreMisuseTests(ITestOutputHelper output) : StreamTest
{
    private static SslContext Server(TlsVersion version, ISslServerSessionStore store, TimeSpan? timeout = null)
    {
        SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version, EnableTickets = false });
        server.ServerSessionLookupTimeout = timeout ?? TimeSpan.FromMilliseconds(50);
        server.UseServerSessionStore(store);
        return server;
    }

    /// <summary>One engine connection: handshake (answering lookups), clean close unless <paramref name="unclean"/>; the client's newest session.</summary>
    private static (bool Completed, bool Reused, SslSession Session) Connect(SslContext client, SslContext server, SslSession resume, bool unclean = false)
    {
        var drive = new EngineDrive();
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        if (!resume.IsNone)
        {
            c.SetSession(resume);
        }
        bool completed = drive.Handshake(c, s);
        if (completed && !unclean)
        {
            drive.CloseCleanly(c, s);
        }
        return (completed, c.SessionReused, EngineDrive.TakeNewest(c));
    }

    [Fact]
    public void WrongOrders_AreManagedExceptions_OrFalse()
    {
        var store = new HostileServerStore(StoreBehavior.Honest);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslContext server = Server(TlsVersion.Tls12, store);
        using SslContext plainServer = Tls.Server(TlsVersion.Tls12);

        // Nothing pending: on a fresh server, a client, a server without a store.
        foreach (SslConnection idle in new[] { server.CreateConnection(), client.CreateConnection("localhost"), plainServer.CreateConnection() })
        {
            using (idle)
            {
                Assert.False(idle.TryGetSessionLookup(out SslSessionLookup none));
                Assert.True(none.Key.IsEmpty);
                Assert.Throws<InvalidOperationException>(() => idle.ProvideSession([]));
                Assert.Throws<InvalidOperationException>(() => idle.ProvideSession(new byte[100]));
            }
            Assert.Throws<ObjectDisposedException>(() => idle.TryGetSessionLookup(out _));
            Assert.Throws<ObjectDisposedException>(() => idle.ProvideSession([1]));
        }

        // A real pause: answered once, then nothing is pending any more (twice, after Reset, after Dispose).
        (_, _, SslSession ticket) = Connect(client, server, default);
        using (ticket)
        {
            var drive = new EngineDrive();
            using SslConnection c = client.CreateConnection("localhost");
            SslConnection s = server.CreateConnection();
            c.SetSession(ticket);
            int hello = c.Handshake(default, drive.ToServer).OutputBytes;
            SslIoResult r = s.Handshake(drive.ToServer.AsSpan(0, hello), drive.ToClient);
            Assert.Equal(SslStatus.NeedsSessionLookup, r.Status);
            Assert.True(s.TryGetSessionLookup(out SslSessionLookup lookup));
            Assert.True(s.TryGetSessionLookup(out SslSessionLookup again)); // reading is idempotent
            Assert.True(lookup.Key.Span.SequenceEqual(again.Key.Span));
            Assert.False(lookup.IsSingleUse);
            // The handshake called again before an answer stays paused, nothing written.
            r = s.Handshake(default, drive.ToClient);
            Assert.Equal(SslStatus.NeedsSessionLookup, r.Status);
            Assert.Equal(0, r.OutputBytes);
            Assert.False(s.ProvideSession([0x30, 0x03, 0x02, 0x01, 0x01])); // garbage: a miss, and the lookup is answered
            Assert.False(s.TryGetSessionLookup(out _));
            Assert.Throws<InvalidOperationException>(() => s.ProvideSession([]));
            r = s.Handshake(default, drive.ToClient);
            Assert.Equal(SslStatus.NeedsInput, r.Status);
            Assert.True(r.OutputBytes > 0);
            s.Reset();
            Assert.False(s.TryGetSessionLookup(out _));
            Assert.Throws<InvalidOperationException>(() => s.ProvideSession([]));
            s.Dispose();
            s.Dispose();
            Assert.Throws<ObjectDisposedException>(() => s.ProvideSession([]));
            Assert.Throws<ObjectDisposedException>(() => s.TryGetSessionLookup(out _));
        }

        // The context: a second store, a client, after Dispose.
        Assert.Throws<InvalidOperationException>(() => server.UseServerSessionStore(store));
        Assert.Throws<InvalidOperationException>(() => client.UseServerSessionStore(store));
        Assert.Throws<ArgumentNullException>(() => plainServer.UseServerSessionStore(null!));
        plainServer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => plainServer.UseServerSessionStore(new HostileServerStore(StoreBehavior.Honest)));
        Assert.Throws<ObjectDisposedException>(() => _ = plainServer.SessionCacheMode);
    }

    [Theory]
    [InlineData(-5_000.0)]
    [InlineData(-1.0)] // Timeout.InfiniteTimeSpan: a store that never answers would hold the handshake forever
    [InlineData(double.MaxValue)]
    [InlineData(3_000_000_000.0)] // beyond what Task.WaitAsync takes
    [InlineData(61_000.0)]
    public void LookupTimeout_OutOfRange_IsRefusedAtTheSetter(double milliseconds)
    {
        // The lookup waits through Task.WaitAsync(timeout) and the S8 removal of an unclean end through WaitAsync(2 * timeout + 1 s).
        // Accepted before: TimeSpan.MaxValue made every removal throw OverflowException, unobserved, so a session of a connection
        // that ended uncleanly stayed resumable fleet-wide; a negative or huge value made every lookup an error (no resumption at
        // all); Timeout.InfiniteTimeSpan let a store that never answers hold the handshake forever.
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        TimeSpan timeout = milliseconds == double.MaxValue ? TimeSpan.MaxValue : TimeSpan.FromMilliseconds(milliseconds);
        Assert.Throws<ArgumentOutOfRangeException>(() => server.ServerSessionLookupTimeout = timeout);
        Assert.Equal(TimeSpan.FromMilliseconds(100), server.ServerSessionLookupTimeout);
    }

    [Fact]
    public async Task UncleanClose_RemovesTheStoredSession_AtTheLongestLookupTimeout()
    {
        var store = new HostileServerStore(StoreBehavior.Honest);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslContext server = Server(TlsVersion.Tls12, store);
        server.ServerSessionLookupTimeout = TimeSpan.FromMinutes(1);
        (bool completed, _, SslSession session) = Connect(client, server, default, unclean: true);
        session.Dispose();
        Assert.True(completed);
        var watch = Stopwatch.StartNew();
        while (store.Count > 0 && watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20);
        }
        Assert.True(store.Count == 0, $"the unclean close did not remove its session ({server.ServerSessionCacheCounters})");
        Assert.Equal(1, server.ServerSessionCacheCounters.Removed);
    }

    [Fact]
    public void LookupTimeout_InRange_IsKept()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        foreach (TimeSpan ok in new[] { TimeSpan.Zero, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1) })
        {
            server.ServerSessionLookupTimeout = ok;
            Assert.Equal(ok, server.ServerSessionLookupTimeout);
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12, StoreBehavior.Honest)]
    [InlineData(TlsVersion.Tls12, StoreBehavior.RandomBytes)]
    [InlineData(TlsVersion.Tls12, StoreBehavior.OtherContext)]
    [InlineData(TlsVersion.Tls12, StoreBehavior.Oversized)]
    [InlineData(TlsVersion.Tls12, StoreBehavior.NeverCompletes)]
    [InlineData(TlsVersion.Tls12, StoreBehavior.ThrowsSynchronously)]
    [InlineData(TlsVersion.Tls12, StoreBehavior.ThrowsAsynchronously)]
    [InlineData(TlsVersion.Tls13, StoreBehavior.Honest)]
    [InlineData(TlsVersion.Tls13, StoreBehavior.RandomBytes)]
    [InlineData(TlsVersion.Tls13, StoreBehavior.OtherContext)]
    [InlineData(TlsVersion.Tls13, StoreBehavior.Oversized)]
    [InlineData(TlsVersion.Tls13, StoreBehavior.NeverCompletes)]
    [InlineData(TlsVersion.Tls13, StoreBehavior.ThrowsSynchronously)]
    [InlineData(TlsVersion.Tls13, StoreBehavior.ThrowsAsynchronously)]
    public void HostileStore_CostsAFullHandshake_NeverTheConnection(TlsVersion version, StoreBehavior behavior)
    {
        // The issuer stores honestly; the victim's store then lies on every call (lookups, adds and the removals of unclean ends).
        var store = new HostileServerStore(StoreBehavior.Honest);
        using SslContext client = Tls.Client(version);
        using SslContext issuer = Server(version, store);
        using SslContext other = Server(version, new HostileServerStore(StoreBehavior.Honest));
        (_, _, SslSession foreign) = Connect(client, other, default);
        using (foreign)
        {
            store.Foreign = foreign.ToDer();
        }
        var watch = Stopwatch.StartNew();
        int reused = 0;
        for (int i = 0; i < 6; i++)
        {
            store.Behavior = StoreBehavior.Honest;
            (bool first, _, SslSession session) = Connect(client, issuer, default);
            Assert.True(first);
            Assert.False(session.IsNone);
            using (session)
            {
                store.Behavior = behavior;
                (bool completed, bool wasReused, SslSession next) = Connect(client, issuer, session, unclean: i % 2 == 1);
                next.Dispose();
                Assert.True(completed, $"{behavior}: the handshake failed ({issuer.ServerSessionCacheCounters})");
                reused += wasReused ? 1 : 0;
            }
        }
        SslServerSessionCacheCounters counts = issuer.ServerSessionCacheCounters;
        output.WriteLine($"{version} {behavior}: {reused} of 6 resumed in {watch.ElapsedMilliseconds} ms; {counts}");
        Assert.Equal(behavior == StoreBehavior.Honest ? 6 : 0, reused);
        Assert.Equal(counts.Lookups, counts.Hits + counts.Misses);
        if (behavior is StoreBehavior.NeverCompletes or StoreBehavior.ThrowsSynchronously or StoreBehavior.ThrowsAsynchronously)
        {
            Assert.True(counts.Errors >= 6, counts.ToString());
        }
        if (behavior is StoreBehavior.RandomBytes or StoreBehavior.OtherContext or StoreBehavior.Oversized)
        {
            Assert.True(counts.Garbage + counts.Misses >= 6, counts.ToString());
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), watch.Elapsed.ToString());
    }

    /// <summary>A store that cancels the handshake's token (as a caller's timeout would, at that moment) and then throws its own exception.</summary>
    private sealed class CancellingStore(CancellationTokenSource handshake, bool synchronously) : ISslServerSessionStore
    {
        public ValueTask<bool> AddAsync(ReadOnlyMemory<byte> sessionId, byte[] der, TimeSpan lifetime, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(true);

        public ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> sessionId, bool take, CancellationToken cancellationToken = default)
        {
            handshake.Cancel();
            return synchronously ? throw new InvalidDataException("the store's own failure") : LaterAsync();
        }

        private static async ValueTask<byte[]?> LaterAsync()
        {
            await Task.Yield();
            throw new InvalidDataException("the store's own failure");
        }

        public ValueTask<bool> RemoveAsync(ReadOnlyMemory<byte> sessionId, CancellationToken cancellationToken = default) => ValueTask.FromResult(false);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AStoreFailingWhileTheCallerCancels_SurfacesAsCancellation_NeverAsTheStoresException(bool synchronously)
    {
        // AuthenticateAsServerAsync documents OperationCanceledException for a cancelled token; the store's exception (here an
        // InvalidDataException, an IOException) is the store's business and must never reach the connection's user.
        var store = new HostileServerStore(StoreBehavior.Honest);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslContext issuer = Server(TlsVersion.Tls12, store);
        (_, _, SslSession session) = Connect(client, issuer, default);
        using (session)
        {
            using var handshake = new CancellationTokenSource();
            using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = TlsVersion.Tls12, MaxVersion = TlsVersion.Tls12, EnableTickets = false });
            server.UseServerSessionStore(new CancellingStore(handshake, synchronously));
            (System.Net.Sockets.Socket cs, System.Net.Sockets.Socket ss) = await Tcp.ConnectAsync(Token);
            await using var c = new FastSslStream(new System.Net.Sockets.NetworkStream(cs, ownsSocket: true));
            await using var s = new FastSslStream(new System.Net.Sockets.NetworkStream(ss, ownsSocket: true));
            Task clientSide = c.AuthenticateAsClientAsync(client, "localhost", session, Token);
            Exception? e = await Record.ExceptionAsync(() => s.AuthenticateAsServerAsync(server, handshake.Token).WaitAsync(Timeout));
            output.WriteLine($"synchronously {synchronously}: {e?.GetType().Name}: {e?.Message}");
            Assert.True(e is OperationCanceledException, e?.ToString() ?? "the handshake completed although its token was cancelled");
            await s.DisposeAsync();
            await Record.ExceptionAsync(() => clientSide.WaitAsync(Timeout));
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void AServerWhoseSessionsNeverExpire_StoresThem_AndResumes(TlsVersion version)
    {
        // SessionTimeout is only checked for being negative: a timeout past DateTimeOffset.MaxValue (year 9999) is accepted, and
        // the store's lifetime (expiry - now) must saturate instead of throwing inside the engine call that delivers the session.
        var store = new HostileServerStore(StoreBehavior.Honest);
        using SslContext client = Tls.Client(version);
        using SslContext server = SslContext.CreateServer(new SslServerOptions
        {
            MinVersion = version,
            MaxVersion = version,
            EnableTickets = false,
            SessionTimeout = TimeSpan.MaxValue,
        });
        server.UseServerSessionStore(store);
        (bool completed, _, SslSession session) = Connect(client, server, default);
        using (session)
        {
            Assert.True(completed);
            Assert.True(store.Count > 0, $"nothing was stored ({server.ServerSessionCacheCounters})");
            (bool again, bool reused, SslSession next) = Connect(client, server, session);
            next.Dispose();
            Assert.True(again && reused, server.ServerSessionCacheCounters.ToString());
        }
    }

    [Fact]
    public async Task Streams_WithAStoreThatLiesAtRandom_AllAuthenticate_AndDisposeMidLookupEndsTheHandshake()
    {
        var store = new HostileServerStore(StoreBehavior.Honest);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslContext server = Server(TlsVersion.Tls12, store, TimeSpan.FromMilliseconds(30));
        SslSession session;
        (FastSslStream c0, FastSslStream s0) = await HandshakeAsync(client, server);
        await using (c0)
        await using (s0)
        {
            Assert.True(c0.Connection.TryAcquireSession(out session));
            await c0.ShutdownAsync(Token);
        }
        using (session)
        {
            store.Behavior = StoreBehavior.Random;
            int rounds = 0, resumed = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < Race.Duration || rounds < 8)
            {
                (FastSslStream c, FastSslStream s) = await HandshakeAsync(client, server, session);
                await using (c)
                await using (s)
                {
                    resumed += c.SessionReused ? 1 : 0;
                    await c.WriteAsync(new byte[] { 1, 2, 3 }, Token);
                    Assert.Equal(3, await s.ReadAsync(new byte[8], Token));
                    if (rounds % 2 == 0)
                    {
                        await c.ShutdownAsync(Token);
                    }
                }
                rounds++;
            }
            output.WriteLine($"{rounds} stream connections with a store lying at random, {resumed} resumed; {server.ServerSessionCacheCounters}");

            // A store that never answers and the server stream disposed mid-lookup: the handshake ends (at the latest when the lookup
            // timeout expires: Dispose does not cut a store wait short) with a documented exception, and the connection is freed.
            store.Behavior = StoreBehavior.NeverCompletes;
            server.ServerSessionLookupTimeout = TimeSpan.FromSeconds(1);
            (System.Net.Sockets.Socket cs, System.Net.Sockets.Socket ss) = await Tcp.ConnectAsync(Token);
            var clientStream = new FastSslStream(new System.Net.Sockets.NetworkStream(cs, ownsSocket: true));
            var serverStream = new FastSslStream(new System.Net.Sockets.NetworkStream(ss, ownsSocket: true));
            // Counted before the handshakes start: read after, a lookup that had already begun was missed, the loop below waited
            // out its whole bound, and the 1 s lookup timeout let the handshake complete before the dispose (seen once in CI).
            long lookups = server.ServerSessionCacheCounters.Lookups;
            Task serverSide = serverStream.AuthenticateAsServerAsync(server, Token);
            Task clientSide = clientStream.AuthenticateAsClientAsync(client, "localhost", session, Token);
            var wait = Stopwatch.StartNew();
            while (server.ServerSessionCacheCounters.Lookups == lookups && wait.Elapsed < Timeout)
            {
                await Task.Delay(5);
            }
            Assert.True(server.ServerSessionCacheCounters.Lookups > lookups, "the server never looked the session up");
            await serverStream.DisposeAsync();
            Exception? e = await Record.ExceptionAsync(() => serverSide.WaitAsync(TimeSpan.FromSeconds(5)));
            Assert.True(e is ObjectDisposedException or IOException or OperationCanceledException or SslHandshakeException, e?.ToString() ?? "no exception");
            await clientStream.DisposeAsync();
            e = await Record.ExceptionAsync(() => clientSide.WaitAsync(TimeSpan.FromSeconds(5)));
            Assert.True(e is ObjectDisposedException or IOException or OperationCanceledException or SslHandshakeException, e?.ToString() ?? "no exception");
            output.WriteLine($"disposed mid-lookup: the handshakes ended after {wait.ElapsedMilliseconds} ms");
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(10), wait.Elapsed.ToString());
        }
    }
}
