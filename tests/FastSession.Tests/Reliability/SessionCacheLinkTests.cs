using System;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Found by <see cref="PublicApiRaceTests"/>: two threads stuck forever in <c>SSL_CTX_flush_sessions</c> (and one in
/// <c>SSL_CTX_free</c>): a context's session list whose tail session is linked into another list. One
/// <c>SSL_SESSION</c> may sit in one context's cache only; these sequences of public calls must never link it twice.
/// </summary>
public sealed class SessionCacheLinkTests : LiveObjectTest
{
    private readonly ITestOutputHelper _output;

    public SessionCacheLinkTests(ITestOutputHelper output) => _output = output;

    /// <summary>
    /// The race behind the harness's hang: OpenSSL 3.0's <c>SSL_SESSION_set_time</c>/<c>set_timeout</c> read the
    /// session's owner context outside that context's lock, then relink the session into the owner's list. If another
    /// thread removed the session from the cache in between (<see cref="SslContext.RemoveSession"/>,
    /// <see cref="SslContext.FlushExpiredSessions"/>), the session is linked back into a list that no longer holds a
    /// reference to it: a later flush walks freed memory or loops forever.
    /// </summary>
    [Fact]
    public async Task SetTimeOnACachedSession_RacingRemoveAddAndFlush_NeverRelinksARemovedSession()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls12, tickets: false);
        using SslContext server = Tls.Server(TlsVersion.Tls12, tickets: false);
        var pipe = new SslMemoryPipe();
        long pairs = 0, rounds = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < Race.Duration)
        {
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
                using var go = new System.Threading.Barrier(2);
                Task setter = Task.Run(() =>
                {
                    go.SignalAndWait();
                    for (int i = 0; i < 200; i++)
                    {
                        cached.SetTime(DateTimeOffset.UtcNow.AddSeconds(i % 7));
                        cached.SetTimeout(TimeSpan.FromSeconds(100 + i));
                        System.Threading.Interlocked.Increment(ref pairs);
                    }
                });
                go.SignalAndWait();
                for (int i = 0; i < 200; i++)
                {
                    server.RemoveSession(cached);
                    server.AddSession(cached);
                    if (i % 16 == 0)
                    {
                        server.FlushExpiredSessions(DateTimeOffset.UtcNow.AddDays(1));
                    }
                }
                await setter;
            }
            rounds++;
        }
        Task flush = Task.Run(() => server.FlushExpiredSessions(DateTimeOffset.UtcNow.AddDays(2)));
        Assert.True(ReferenceEquals(flush, await Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds(10)))), "FlushExpiredSessions is looping: a removed session was linked back");
        await flush;
        Assert.Equal(0, server.CachedSessionCount);
        _output.WriteLine($"{rounds} rounds, {pairs} SetTime+SetTimeout pairs against RemoveSession/AddSession/FlushExpiredSessions");
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
                    _output.WriteLine($"client.AddSession: {client.AddSession(cached)}");
                    break;
                case "copy-add":
                    using (SslSession copy = cached.Copy())
                    {
                        _output.WriteLine($"server.AddSession(copy): {server.AddSession(copy)}; client: {client.AddSession(copy)}");
                        copy.SetTime(DateTimeOffset.UtcNow.AddSeconds(5));
                    }
                    break;
                case "dup-add-remove":
                    using (SslSession dup = cached.Duplicate())
                    {
                        _output.WriteLine($"server.AddSession(dup): {server.AddSession(dup)}; remove {server.RemoveSession(dup)}; add {server.AddSession(dup)}");
                    }
                    break;
                case "rebind-add":
                    using (SslSession rebound = cached.RebindTo(client))
                    {
                        _output.WriteLine($"client.AddSession(rebound): {client.AddSession(rebound)}; server {server.AddSession(rebound)}");
                        rebound.SetTime(DateTimeOffset.UtcNow.AddSeconds(5));
                    }
                    break;
                default:
                    using (SslSession imported = SslSession.FromDer(cached.ToDer(), server))
                    {
                        _output.WriteLine($"server.AddSession(imported): {server.AddSession(imported)}; client {client.AddSession(imported)}");
                        imported.SetTime(DateTimeOffset.UtcNow.AddSeconds(5));
                    }
                    break;
            }
            cached.SetTime(DateTimeOffset.UtcNow.AddSeconds(10));
        }
        Task flush = Task.Run(() =>
        {
            server.FlushExpiredSessions(DateTimeOffset.UtcNow.AddDays(2));
            client.FlushExpiredSessions(DateTimeOffset.UtcNow.AddDays(2));
        });
        Assert.True(ReferenceEquals(flush, await Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds(10)))), "FlushExpiredSessions is looping: a session is linked into two lists");
        await flush;
        _output.WriteLine($"server cache {server.CachedSessionCount}, client cache {client.CachedSessionCount}");
    }
}
