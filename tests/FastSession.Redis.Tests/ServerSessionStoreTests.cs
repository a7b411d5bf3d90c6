using System;
using System.Collections.Generic;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Redis.Tests.Infrastructure;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Redis.Tests;

/// <summary>
/// Issue 16 item 3, server side: <c>fastsession serve --no-tickets --session-store redis://…</c> processes share one
/// server session cache on a real redis-server (TLS 1.2 session ids, TLS 1.3 stateful tickets), looked up
/// asynchronously (the handshake pauses in the client-hello callback, the stream awaits Redis, the handshake goes on).
/// </summary>
public sealed class ServerSessionStoreTests(ITestOutputHelper output) : LiveObjectTest
{
    private const int Servers = 3;

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task OpenSslClients_SharedServerStore_ResumeOnAnotherServer_PerProcessCache_OnlyOnTheSameServer(TlsVersion version)
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        var random = new Random(17);
        (int From, int To)[] pairs = Enumerable.Range(0, FleetRuns.Offers).Select(_ => (random.Next(Servers), random.Next(Servers))).ToArray();
        int sameServer = pairs.Count(p => p.From == p.To);

        int shared;
        using (Fleet fleet = await Fleet.StartAsync(pki, Servers, "--no-tickets", "--session-store", redis.Location("s"), "--session-store-timeout", "1000"))
        {
            shared = await FleetRuns.RunPairsAsync(fleet, pki, version, pairs);
        }
        int perProcess;
        using (Fleet fleet = await Fleet.StartAsync(pki, Servers, "--no-tickets"))
        {
            perProcess = await FleetRuns.RunPairsAsync(fleet, pki, version, pairs);
        }
        Report($"openssl s_client, {FleetRuns.Name(version)} {(version == TlsVersion.Tls12 ? "session ids" : "stateful tickets")}, --no-tickets: shared Redis server store {shared}/{pairs.Length} resumed ({FleetRuns.Percent(shared, pairs.Length)}); per-process cache {perProcess}/{pairs.Length} (same-server pairs {sameServer})");
        Assert.True(shared >= Math.Ceiling(0.99 * pairs.Length), $"shared store: {shared}/{pairs.Length}");
        Assert.Equal(sameServer, perProcess);
    }

    [Fact]
    public async Task StatefulTls13Ticket_IsSingleUseAcrossTheFleet()
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        using Fleet fleet = await Fleet.StartAsync(pki, 2, "--no-tickets", "--session-store", redis.Location("u"), "--session-store-timeout", "1000");
        string file = pki.PathOf("once.pem");
        Assert.False(await OpenSslClient.ConnectAsync(fleet.Ports[0], TlsVersion.Tls13, "-sess_out", file));
        Assert.True(await OpenSslClient.ConnectAsync(fleet.Ports[1], TlsVersion.Tls13, "-sess_in", file));
        // GETDEL took it: the same ticket offered again, on either server, is a full handshake.
        Assert.False(await OpenSslClient.ConnectAsync(fleet.Ports[0], TlsVersion.Tls13, "-sess_in", file));
        Assert.False(await OpenSslClient.ConnectAsync(fleet.Ports[1], TlsVersion.Tls13, "-sess_in", file));
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task RedisStoppedMidRun_NoFailedConnections_FullHandshakes_ThenResumptionReturns(TlsVersion version)
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        using Fleet fleet = await Fleet.StartAsync(pki, Servers, "--no-tickets", "--session-store", redis.Location("d"), "--session-store-timeout", "250");
        using var client = new StoreClient(version, pki.CertificatePem);
        int connection = 0, failed = 0;
        async Task<bool> Next()
        {
            try
            {
                return await client.ConnectAsync(fleet.Ports[connection++ % Servers]);
            }
            catch (Exception e)
            {
                failed++;
                output.WriteLine($"failed: {e.Message}");
                return false;
            }
        }

        // One uncounted round over the fleet first: each process's first store command pays its Redis connection's cold start,
        // which under CI load once exceeded the 250 ms lookup bound (an up-phase miss, "up 5/6", in a clean-clone CI run).
        for (int i = 0; i < Servers; i++)
        {
            await Next();
        }
        int upReused = 0;
        for (int i = 0; i < 6; i++)
        {
            upReused += await Next() ? 1 : 0;
        }
        await redis.StopAsync();
        int downReused = 0, downConnections = 9;
        var down = Stopwatch.StartNew();
        for (int i = 0; i < downConnections; i++)
        {
            downReused += await Next() ? 1 : 0;
        }
        down.Stop();
        await redis.StartAsync();
        var back = Stopwatch.StartNew();
        int untilBack = 0;
        while (true)
        {
            untilBack++;
            if (await Next())
            {
                break;
            }
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(20), "no resumption within 20 s of Redis restarting");
            await Task.Delay(100);
        }
        back.Stop();
        Report(string.Create(CultureInfo.InvariantCulture,
            $"server store, Redis stopped mid-run ({FleetRuns.Name(version)}, 3 servers round robin): up {upReused}/6 resumed; down {downConnections} connections, {downReused} resumed, {failed} failed, {down.Elapsed.TotalMilliseconds / downConnections:0} ms per connection; resumption back {back.Elapsed.TotalSeconds:0.0} s after restart ({untilBack} connections)"));
        Assert.Equal(0, failed);
        Assert.Equal(6, upReused); // every connection after the warm-up round resumed on another server
        Assert.Equal(0, downReused);
        Assert.True(back.Elapsed < TimeSpan.FromSeconds(10), back.Elapsed.ToString());
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task AsynchronousLookup_CostOfAResumedHandshake_IsMeasured_AndNearOneRedisRoundTrip(TlsVersion version)
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        int samples = Math.Max(40, FleetRuns.Offers * 4);

        // Baseline: two processes with their internal caches (no store), each client resuming on the server that issued its
        // session. The store: two processes, every resumption on the other one, its session fetched from Redis. Both fleets
        // run at once and the samples alternate (baseline, store, Redis GET, PING, ...), so each server process sees a
        // connection every other round in both setups and the machine's load weighs on the series alike.
        using Fleet localFleet = await Fleet.StartAsync(pki, 2, "--no-tickets");
        using Fleet storeFleet = await Fleet.StartAsync(pki, 2, "--no-tickets", "--session-store", redis.Location("p"), "--session-store-timeout", "1000");
        using var localClient0 = new StoreClient(version, pki.CertificatePem);
        using var localClient1 = new StoreClient(version, pki.CertificatePem);
        StoreClient[] localClients = [localClient0, localClient1];
        using var storeClient = new StoreClient(version, pki.CertificatePem);
        await using ConnectionMultiplexer m = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location("p")).ToConfiguration());
        IDatabase db = m.GetDatabase();
        for (var connecting = Stopwatch.StartNew(); !m.IsConnected; await Task.Delay(50))
        {
            Assert.True(connecting.Elapsed < TimeSpan.FromSeconds(20), "the probe's Redis connection did not come up");
        }
        for (int server = 0; server < 2; server++)
        {
            await localClients[server].ConnectAsync(localFleet.Ports[server]);
            await WarmUpAsync(localClients[server], localFleet.Ports[server], localFleet.Ports[server]);
        }
        await storeClient.ConnectAsync(storeFleet.Ports[0]);
        await WarmUpAsync(storeClient, storeFleet.Ports[1], storeFleet.Ports[0]);
        // One Redis round trip as the servers see it: PING, and GET of a session-sized value, from another process on
        // loopback, after an idle moment like a handshake's lookup (not a hot loop whose replies are already on their way).
        ConfigurationOptions adminOptions = RedisLocation.Parse(redis.Location("p")).ToConfiguration();
        adminOptions.AllowAdmin = true; // INFO commandstats
        await using ConnectionMultiplexer adminConnection = await ConnectionMultiplexer.ConnectAsync(adminOptions);
        IServer admin = adminConnection.GetServer(adminConnection.GetEndPoints()[0]);
        // The probe reads a value the size of the sessions the servers really fetch (117-154 bytes of DER here), so its
        // GET costs what theirs does on the wire.
        long sessionSize = 0;
        await foreach (RedisKey sessionKey in admin.KeysAsync(pattern: "p:server:*"))
        {
            sessionSize = await db.StringLengthAsync(sessionKey);
            break;
        }
        Assert.True(sessionSize > 0, "no server session in Redis after the warm-up");
        await db.StringSetAsync("p:rtt", new byte[sessionSize]);
        long lookupsBefore = await LookupCallsAsync(admin, version);
        var rtt = new List<double>();
        var ping = new List<double>();
        for (int i = 0; i < samples; i++)
        {
            Assert.True(await localClients[i % 2].ConnectAsync(localFleet.Ports[i % 2]));
            Assert.True(await storeClient.ConnectAsync(storeFleet.Ports[(i + 1) % 2]));
            await Task.Delay(2);
            long start = Stopwatch.GetTimestamp();
            await db.StringGetAsync("p:rtt");
            rtt.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            await Task.Delay(1);
            ping.Add((await db.PingAsync()).TotalMilliseconds);
        }
        long lookupCalls = await LookupCallsAsync(admin, version) - lookupsBefore - (version == TlsVersion.Tls12 ? samples : 0);
        List<double> local = [.. localClient0.ResumedHandshakeTimes, .. localClient1.ResumedHandshakeTimes], stored = storeClient.ResumedHandshakeTimes;
        double extra = Median(stored) - Median(local);
        double extra99 = Percentile(stored, 0.99) - Percentile(local, 0.99);
        Report(string.Create(CultureInfo.InvariantCulture,
            $"server store lookup, {FleetRuns.Name(version)}: resumed handshake, internal cache {FleetClient.Percentiles(local)}; Redis store on another server {FleetClient.Percentiles(stored)}; Redis GET ({sessionSize} B) round trip {FleetClient.Percentiles(rtt)}; PING {FleetClient.Percentiles(ping)}; added p50 {extra:0.000} ms = one GET round trip {extra - Median(rtt):+0.000;-0.000} ms ({extra / Median(rtt):0.00}x), p99 {extra99:0.00} ms (GET p99 {Percentile(rtt, 0.99):0.00} ms); lookup commands on the handshake path {lookupCalls} for {stored.Count} resumed handshakes"));
        // Sound, load-independent: each resumed handshake made exactly one Redis call on its path (GET for a TLS 1.2 id,
        // GETDEL for a TLS 1.3 ticket, counted by Redis itself in INFO commandstats; the probe's GETs are subtracted).
        Assert.Equal(samples, stored.Count);
        Assert.Equal(samples, lookupCalls);
        // Timing: "no more than one round trip added" is a sub-millisecond claim, measured by bench/fleet-lookup.sh and
        // reported above; on the shared 2-core machine (and in CI under ASan+UBSan) scheduling alone moves a p50 by
        // milliseconds, so a bound that tight would fail for reasons that are not the lookup. This bound catches a lookup
        // that waits for something other than Redis (its 1000 ms timeout, a blocked thread): far below that timeout. (+5 ms
        // failed once on unchanged code at load 12: the client's own handshake time is bimodal, 0.5 vs 2.9 ms at p25/p75, so
        // its median jumps by milliseconds between runs; bench/fleet-lookup-trace.sh measures the server's own segment.)
        Assert.True(extra <= Median(rtt) + 25.0, $"the lookup added {extra:0.00} ms, a Redis round trip is {Median(rtt):0.00} ms");
    }

    private static async Task<long> LookupCallsAsync(IServer redis, TlsVersion version)
    {
        string command = version == TlsVersion.Tls12 ? "cmdstat_get" : "cmdstat_getdel";
        foreach (IGrouping<string, KeyValuePair<string, string>> section in await redis.InfoAsync("commandstats"))
        {
            foreach (KeyValuePair<string, string> line in section)
            {
                if (line.Key == command)
                {
                    // calls=12,usec=...
                    string calls = line.Value.Split(',')[0];
                    return long.Parse(calls["calls=".Length..], CultureInfo.InvariantCulture);
                }
            }
        }
        return 0;
    }

    private static double Percentile(List<double> values, double q)
    {
        double[] sorted = values.OrderBy(static v => v).ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }

    // The first resumptions on each server process compile its lookup path: not what is measured. They must end in 6 resumptions
    // in a row, but a miss on the way is allowed: a server process's first store call can find its Redis connection still coming
    // up, and right after a handshake the issuing server's SET may not have landed yet (no pause here; the measured loop has
    // milliseconds between connections). Seen once in CI: one warm-up connection not resumed.
    private static async Task WarmUpAsync(StoreClient client, int first, int second)
    {
        int inARow = 0;
        for (int i = 0; i < 40 && inARow < 6; i++)
        {
            inARow = await client.ConnectAsync(i % 2 == 0 ? first : second) ? inARow + 1 : 0;
            await Task.Delay(5);
        }
        Assert.True(inARow == 6, "the warm-up never resumed 6 times in a row through the store");
        client.ResumedHandshakeTimes.Clear();
    }

    private static double Median(List<double> values)
    {
        double[] sorted = values.OrderBy(static v => v).ToArray();
        return sorted[sorted.Length / 2];
    }

    private void Report(string line) => FleetRuns.Report(output, line);

    /// <summary>A library client that offers the last session it received (kept in memory: the server side is under test).</summary>
    private sealed class StoreClient : IDisposable
    {
        private readonly ConcurrentQueue<SslSession> _received = new();
        private readonly SslContext _context;
        private SslSession _last;

        public StoreClient(TlsVersion version, string trustedCertificatePem)
        {
            _context = SslContext.CreateClient(new SslClientOptions { MinVersion = version, MaxVersion = version, TrustedCertificatesPem = trustedCertificatePem });
            _context.SessionEstablished = (_, session) => _received.Enqueue(session);
        }

        public List<double> ResumedHandshakeTimes { get; } = new();

        /// <summary>One connection offering the last session; returns whether it was resumed.</summary>
        public async Task<bool> ConnectAsync(int port)
        {
            using var timeout = new CancellationTokenSource(Fleet.Timeout);
            using var tcp = new TcpClient { NoDelay = true };
            await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            await using var tls = new FastSslStream(tcp.GetStream());
            long start = Stopwatch.GetTimestamp();
            // A resumed TLS 1.2 session brings no new one: the client keeps offering it (a TLS 1.3 ticket is replaced).
            await tls.AuthenticateAsClientAsync(_context, "localhost", _last, timeout.Token);
            double elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            bool reused = tls.SessionReused;
            if (reused)
            {
                ResumedHandshakeTimes.Add(elapsed);
            }
            await tls.WaitForSessionTicketsAsync(TimeSpan.FromSeconds(2), 1, timeout.Token);
            byte[] ping = "ping\n"u8.ToArray();
            await tls.WriteAsync(ping, timeout.Token);
            byte[] echo = new byte[ping.Length];
            for (int got = 0; got < echo.Length;)
            {
                int n = await tls.ReadAsync(echo.AsMemory(got), timeout.Token);
                Assert.True(n > 0, "the server closed before echoing");
                got += n;
            }
            await tls.ShutdownAsync(timeout.Token);
            while (_received.TryDequeue(out SslSession session))
            {
                _last.Dispose();
                _last = session;
            }
            return reused;
        }

        public void Dispose()
        {
            _context.SessionEstablished = null;
            while (_received.TryDequeue(out SslSession session))
            {
                session.Dispose();
            }
            _last.Dispose();
            _context.Dispose();
        }
    }
}
