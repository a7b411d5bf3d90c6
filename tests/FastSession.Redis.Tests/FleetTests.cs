using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using FastSession.Cli;
using FastSession.Redis.Tests.Infrastructure;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Redis.Tests;

/// <summary>
/// The issue-16 targets across processes: three <c>fastsession serve</c> processes, a real redis-server, clients spread
/// over the servers (openssl s_client with -sess_out on one and -sess_in on another, the tool's own <c>connect</c>, and
/// the library's stream with the Redis session store). Every figure is written to the test output.
/// </summary>
public sealed class FleetTests(ITestOutputHelper output) : LiveObjectTest
{
    private const int Servers = 3;

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task OpenSslClients_SharedKeys_ResumeEveryOfferedSession_PerProcessKeys_OnlyOnTheSameServer(TlsVersion version)
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        // The same server pairs for both configurations: session out on `from`, in on `to`, chosen at random (seeded)
        // as a load balancer would; about 1/3 of the pairs land on the same server.
        var random = new Random(16);
        (int From, int To)[] pairs = Enumerable.Range(0, FleetRuns.Offers).Select(_ => (random.Next(Servers), random.Next(Servers))).ToArray();
        int sameServer = pairs.Count(p => p.From == p.To);

        int shared;
        using (Fleet fleet = await Fleet.StartAsync(pki, Servers, "--ticket-keys", redis.Location("f")))
        {
            shared = await FleetRuns.RunPairsAsync(fleet, pki, version, pairs);
        }
        int perProcess;
        using (Fleet fleet = await Fleet.StartAsync(pki, Servers))
        {
            perProcess = await FleetRuns.RunPairsAsync(fleet, pki, version, pairs);
        }
        Report($"openssl s_client, {FleetRuns.Name(version)}: shared keys {shared}/{pairs.Length} resumed ({FleetRuns.Percent(shared, pairs.Length)}); per-process keys {perProcess}/{pairs.Length} ({FleetRuns.Percent(perProcess, pairs.Length)}; same-server pairs {sameServer})");
        Assert.True(shared >= Math.Ceiling(0.99 * pairs.Length), $"shared keys: {shared}/{pairs.Length}");
        Assert.Equal(sameServer, perProcess); // a ticket only ever comes back on the server that issued it
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task ToolConnect_WithRedisSessionStore_RoundRobin_ResumesOnEveryServer(TlsVersion version)
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        using Fleet fleet = await Fleet.StartAsync(pki, Servers, "--ticket-keys", redis.Location("t"));
        int offered = 0, reused = 0, runs = Servers * 3;
        for (int i = 0; i < runs; i++)
        {
            // Each run is a separate client (own context, own Redis connection): the session travels through Redis.
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = await FastSessionTool.RunAsync(
                ["connect", $"127.0.0.1:{fleet.Ports[i % Servers]}", "--servername", "localhost", "--cafile", pki.CertificateFile, "--tls", version == TlsVersion.Tls12 ? "1.2" : "1.3",
                 "--json", "--session-store", redis.Location("t"), "--session-key", "fleet.example:443"],
                stdout, stderr).WaitAsync(Fleet.Timeout);
            Assert.True(code == 0, stderr.ToString());
            using JsonDocument line = JsonDocument.Parse(stdout.ToString().Split('\n')[0]);
            bool wasOffered = line.RootElement.GetProperty("offered").GetBoolean();
            bool wasReused = line.RootElement.GetProperty("reused").GetBoolean();
            offered += wasOffered ? 1 : 0;
            reused += wasReused ? 1 : 0;
        }
        Report($"fastsession connect --session-store, {FleetRuns.Name(version)}, round robin over {Servers} servers: {reused}/{offered} offered sessions resumed ({runs} connections)");
        Assert.Equal(runs - 1, offered); // every connection after the first found a session in Redis
        Assert.Equal(offered, reused);
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task LibraryClients_RedisStore_SharedKeys_RoundRobin_AtLeast99PercentResumed(TlsVersion version)
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        using Fleet fleet = await Fleet.StartAsync(pki, Servers, "--ticket-keys", redis.Location("l"));
        await using ConnectionMultiplexer m = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location("l")).ToConfiguration());
        var store = new RedisSslSessionStore(m, "l", new RedisSessionStoreOptions { Timeout = TimeSpan.FromSeconds(1) });
        using var client = new FleetClient(version, store, pki.CertificatePem);
        int connections = FleetRuns.Offers * 2, offered = 0, reused = 0;
        for (int i = 0; i < connections; i++)
        {
            (bool o, bool r) = await client.ConnectAsync(fleet.Ports[i % Servers]);
            offered += o ? 1 : 0;
            reused += r ? 1 : 0;
        }
        Report($"FastSslStream + RedisSslSessionStore, {FleetRuns.Name(version)}, round robin over {Servers} servers: {reused}/{offered} offered resumed ({FleetRuns.Percent(reused, offered)}), {connections} connections; store {store.Counters}; Redis take {FleetClient.Percentiles(client.TakeTimes)}; handshake resumed {FleetClient.Percentiles(client.ResumedHandshakeTimes)}, full {FleetClient.Percentiles(client.FullHandshakeTimes)}");
        Assert.True(offered >= connections - 1 - store.Counters.Errors, store.Counters.ToString());
        Assert.True(reused >= Math.Ceiling(0.99 * offered), $"{reused}/{offered}");
    }

    [Theory]
    [InlineData(TlsVersion.Tls12, "redis")]
    [InlineData(TlsVersion.Tls13, "redis")]
    [InlineData(TlsVersion.Tls13, "file")]
    public async Task RestartedServer_WithTheSameKeySource_ResumesSessionsIssuedBeforeTheRestart(TlsVersion version, string source)
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        string keys = redis.Location("r");
        if (source == "file")
        {
            keys = pki.PathOf("ticket.key");
            File.WriteAllBytes(keys, System.Security.Cryptography.RandomNumberGenerator.GetBytes(80));
        }
        using Fleet fleet = await Fleet.StartAsync(pki, 1, "--ticket-keys", keys);
        string file = pki.PathOf("before-restart.pem");
        Assert.False(await OpenSslClient.ConnectAsync(fleet.Ports[0], version, "-sess_out", file));
        await fleet.RestartAsync(0);
        Assert.True(await OpenSslClient.ConnectAsync(fleet.Ports[0], version, "-sess_in", file), fleet.Output(0));
        Report($"restart with {source} keys, {FleetRuns.Name(version)}: a session issued before the restart resumed after it");
    }

    [Fact]
    public async Task RedisStoppedMidRun_NoFailedConnections_FullHandshakes_ThenResumptionReturns()
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        // Rotation 8 s: each server re-reads the keys every 2 s (so it notices Redis coming back quickly).
        using Fleet fleet = await Fleet.StartAsync(pki, Servers, "--ticket-keys", redis.Location("d"), "--ticket-key-rotation", "8");
        await using ConnectionMultiplexer m = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location("d")).ToConfiguration());
        var store = new RedisSslSessionStore(m, "d", new RedisSessionStoreOptions { Timeout = TimeSpan.FromMilliseconds(100) });
        using var client = new FleetClient(TlsVersion.Tls13, store, pki.CertificatePem);
        int connection = 0, failed = 0;
        async Task<(bool Offered, bool Reused)> Next()
        {
            try
            {
                return await client.ConnectAsync(fleet.Ports[connection++ % Servers]);
            }
            catch (Exception e)
            {
                failed++;
                output.WriteLine($"failed: {e.Message}");
                return (false, false);
            }
        }

        int upReused = 0;
        for (int i = 0; i < 9; i++)
        {
            upReused += (await Next()).Reused ? 1 : 0;
        }
        await redis.StopAsync();
        int downReused = 0, downConnections = 12;
        var down = Stopwatch.StartNew();
        for (int i = 0; i < downConnections; i++)
        {
            downReused += (await Next()).Reused ? 1 : 0;
        }
        down.Stop();
        await redis.StartAsync();
        var back = Stopwatch.StartNew();
        int untilBack = 0;
        while (true)
        {
            untilBack++;
            if ((await Next()).Reused)
            {
                break;
            }
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(20), $"no resumption within 20 s of Redis restarting; store {store.Counters}");
            await Task.Delay(100);
        }
        back.Stop();
        Report(string.Create(CultureInfo.InvariantCulture,
            $"Redis stopped mid-run (TLS 1.3, 3 servers): up {upReused}/8 resumed; down {downConnections} connections, {downReused} resumed, {failed} failed, {down.Elapsed.TotalMilliseconds / downConnections:0} ms per connection; resumption back {back.Elapsed.TotalSeconds:0.0} s after restart ({untilBack} connections); store {store.Counters}"));
        Assert.Equal(0, failed);
        Assert.Equal(8, upReused);
        Assert.Equal(0, downReused);
        Assert.True(back.Elapsed < TimeSpan.FromSeconds(10), back.Elapsed.ToString());
    }

    private void Report(string line) => FleetRuns.Report(output, line);
}
