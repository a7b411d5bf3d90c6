using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using FastSession.Redis.Tests.Infrastructure;
using FastSession.Tests.Infrastructure;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using StackExchange.Redis;
using Xunit;

namespace FastSession.Redis.Tests;

/// <summary>Key source and session stores against a real redis-server (started and stopped by each test).</summary>
public sealed class RedisStoreTests : LiveObjectTest
{
    private static readonly SslSessionCacheKey Service = new("fleet.example", 443);

    [Fact]
    public async Task KeySource_TwoProcessesShareOneRing_AndRotateOnceForTheFleet()
    {
        await using RedisServer redis = await RedisServer.StartNewAsync();
        await using ConnectionMultiplexer m1 = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location("k")).ToConfiguration());
        await using ConnectionMultiplexer m2 = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location("k")).ToConfiguration());
        var options = new RedisTicketKeyOptions { RotationInterval = TimeSpan.FromSeconds(2), RefreshInterval = TimeSpan.FromHours(1) };
        using var ring1 = new TicketKeyRing();
        using var ring2 = new TicketKeyRing();
        await using RedisTicketKeySource s1 = await RedisTicketKeySource.StartAsync(m1, "k", ring1, options);
        await using RedisTicketKeySource s2 = await RedisTicketKeySource.StartAsync(m2, "k", ring2, options);
        Assert.NotNull(ring1.EncryptingKeyName);
        Assert.Equal(ring1.EncryptingKeyName, ring2.EncryptingKeyName);

        // A ticket from "process 1" resumes on "process 2".
        using (SslContext a = Pairs.Server(TlsVersion.Tls13, ring1))
        using (SslContext b = Pairs.Server(TlsVersion.Tls13, ring2))
        using (SslContext client = Pairs.Client(TlsVersion.Tls13))
        {
            (_, SslSession first) = Pairs.Connect(client, a);
            using (first)
            {
                (bool reused, SslSession next) = Pairs.Connect(client, b, first);
                next.Dispose();
                Assert.True(reused);
            }
        }

        // Once due, both refresh at the same moment: one new key for the fleet, not two.
        string before = ring1.EncryptingKeyName!;
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        await Task.WhenAll(s1.RefreshAsync(), s2.RefreshAsync());
        await Task.WhenAll(s1.RefreshAsync(), s2.RefreshAsync());
        Assert.NotEqual(before, ring1.EncryptingKeyName);
        Assert.Equal(ring1.EncryptingKeyName, ring2.EncryptingKeyName);
        Assert.Equal(2, ring1.KeyCount); // the new key encrypts, the old one still decrypts
        Assert.Equal(2, ring2.KeyCount);
        Assert.Equal(2, await m1.GetDatabase().ListLengthAsync("k:ticket-keys"));
    }

    [Fact]
    public async Task KeySource_GarbageEntries_AreSkipped_AndRedisDown_KeepsTheKeys()
    {
        await using RedisServer redis = await RedisServer.StartNewAsync();
        await using ConnectionMultiplexer m = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location("g")).ToConfiguration());
        IDatabase db = m.GetDatabase();
        await db.ListRightPushAsync("g:ticket-keys", "000000000001:not-a-key");
        await db.ListRightPushAsync("g:ticket-keys", new byte[] { 1, 2, 3 });
        using var ring = new TicketKeyRing();
        var options = new RedisTicketKeyOptions { RefreshInterval = TimeSpan.FromHours(1), Timeout = TimeSpan.FromMilliseconds(300) };
        await using RedisTicketKeySource source = await RedisTicketKeySource.StartAsync(m, "g", ring, options);
        Assert.Equal(1, ring.KeyCount); // the head was garbage, so a real key was pushed in front of it
        Assert.True(source.GarbageEntries >= 2);
        string key = ring.EncryptingKeyName!;

        await redis.StopAsync();
        var watch = Stopwatch.StartNew();
        Assert.False(await source.RefreshAsync());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), watch.Elapsed.ToString());
        Assert.True(source.Errors >= 1);
        Assert.Equal(key, ring.EncryptingKeyName); // tickets keep working while Redis is away

        // Redis comes back empty: a new fleet key encrypts, the old one keeps decrypting.
        await redis.StartAsync();
        await WaitUntilAsync(async () => await source.RefreshAsync(), TimeSpan.FromSeconds(15));
        Assert.NotEqual(key, ring.EncryptingKeyName);
        Assert.Equal(2, ring.KeyCount);
    }

    [Fact]
    public async Task SessionStore_Tls13Ticket_IsTakenOnceAcrossTheFleet_Tls12_IsReused()
    {
        await using RedisServer redis = await RedisServer.StartNewAsync();
        await using ConnectionMultiplexer m1 = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location("s")).ToConfiguration());
        await using ConnectionMultiplexer m2 = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location("s")).ToConfiguration());
        var store1 = new RedisSslSessionStore(m1, "s");
        var store2 = new RedisSslSessionStore(m2, "s");
        using SslContext server13 = Pairs.Server(TlsVersion.Tls13);
        using SslContext client13 = Pairs.Client(TlsVersion.Tls13);
        (_, SslSession ticket) = Pairs.Connect(client13, server13);
        using (ticket)
        {
            Assert.True(await store1.AddAsync(Service, ticket));
        }

        // Twenty concurrent takes from two "processes": exactly one gets the ticket (LPOP is atomic).
        SslSession[] taken = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? store1 : store2).TakeAsync(Service, client13).AsTask()));
        Assert.Single(taken, s => !s.IsNone);
        SslSession winner = taken.Single(s => !s.IsNone);
        using (winner)
        {
            (bool reused, SslSession next) = Pairs.Connect(client13, server13, winner);
            next.Dispose();
            Assert.True(reused);
        }

        using SslContext server12 = Pairs.Server(TlsVersion.Tls12);
        using SslContext client12 = Pairs.Client(TlsVersion.Tls12);
        (_, SslSession session12) = Pairs.Connect(client12, server12);
        using (session12)
        {
            Assert.True(await store2.AddAsync(Service, session12));
        }
        for (int i = 0; i < 3; i++)
        {
            SslSession again = await store1.TakeAsync(Service, client12);
            using (again)
            {
                Assert.False(again.IsNone);
                (bool reused, SslSession next) = Pairs.Connect(client12, server12, again);
                next.Dispose();
                Assert.True(reused);
            }
        }
    }

    [Fact]
    public async Task SessionStore_Garbage_IsAMiss_AndRedisDown_IsABoundedMiss_ThenRecovers()
    {
        await using RedisServer redis = await RedisServer.StartNewAsync();
        await using ConnectionMultiplexer m = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location("x")).ToConfiguration());
        var store = new RedisSslSessionStore(m, "x", new RedisSessionStoreOptions { Timeout = TimeSpan.FromMilliseconds(100) });
        using SslContext client = Pairs.Client(TlsVersion.Tls12);
        using SslContext server = Pairs.Server(TlsVersion.Tls12);
        await m.GetDatabase().StringSetAsync($"x:session:t12:{Service.Host}:{Service.Port}:", new byte[] { 0x30, 0x82, 0xff, 0x00, 1, 2, 3 });
        await m.GetDatabase().ListLeftPushAsync($"x:session:t13:{Service.Host}:{Service.Port}:", "garbage");
        Assert.True((await store.TakeAsync(Service, client)).IsNone);
        Assert.True((await store.TakeAsync(Service, client)).IsNone);
        Assert.Equal(2, store.Counters.Garbage);

        await redis.StopAsync();
        (_, SslSession session) = Pairs.Connect(client, server);
        using (session)
        {
            var watch = Stopwatch.StartNew();
            Assert.False(await store.AddAsync(Service, session));
            Assert.True((await store.TakeAsync(Service, client)).IsNone);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), watch.Elapsed.ToString());
            Assert.True(store.Counters.Errors >= 2, store.Counters.ToString());

            await redis.StartAsync();
            var back = Stopwatch.StartNew();
            await WaitUntilAsync(async () => await store.AddAsync(Service, session), TimeSpan.FromSeconds(15));
            SslSession taken = await store.TakeAsync(Service, client);
            Assert.False(taken.IsNone);
            taken.Dispose();
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(10), back.Elapsed.ToString());
        }
    }

    [Fact]
    public async Task DistributedCacheAdapter_OverRedisCache_RoundTrips()
    {
        await using RedisServer redis = await RedisServer.StartNewAsync();
        using var cache = new RedisCache(new RedisCacheOptions { Configuration = $"127.0.0.1:{redis.Port}", InstanceName = "dc:" });
        var store = new DistributedCacheSslSessionStore(cache, "fleet", TimeSpan.FromSeconds(2));
        using SslContext server = Pairs.Server(TlsVersion.Tls13);
        using SslContext client = Pairs.Client(TlsVersion.Tls13);
        (_, SslSession ticket) = Pairs.Connect(client, server);
        using (ticket)
        {
            Assert.True(await store.AddAsync(Service, ticket));
        }
        SslSession taken = await store.TakeAsync(Service, client);
        using (taken)
        {
            Assert.False(taken.IsNone);
            (bool reused, SslSession next) = Pairs.Connect(client, server, taken);
            next.Dispose();
            Assert.True(reused);
        }
        Assert.True((await store.TakeAsync(Service, client)).IsNone); // TLS 1.3: removed after the read
    }

    [Fact]
    public async Task MemoryStore_IsTheDefaultStore_OverTheClientCache()
    {
        using var cache = new SslClientSessionCache();
        var store = new MemorySslSessionStore(cache);
        using SslContext server = Pairs.Server(TlsVersion.Tls13);
        using SslContext client = Pairs.Client(TlsVersion.Tls13);
        (_, SslSession ticket) = Pairs.Connect(client, server);
        using (ticket)
        {
            Assert.True(await store.AddAsync(Service, ticket));
        }
        SslSession taken = await store.TakeAsync(Service, client);
        using (taken)
        {
            Assert.False(taken.IsNone);
        }
        Assert.True((await store.TakeAsync(Service, client)).IsNone); // S9: once
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < timeout, $"not within {timeout.TotalSeconds} s");
            await Task.Delay(100);
        }
    }
}
