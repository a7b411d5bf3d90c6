using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Redis.Tests.Infrastructure;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using FastSession.Tests.Observability;
using FastSession.Tests.Reliability;
using StackExchange.Redis;
using Xunit;

namespace FastSession.Redis.Tests;

/// <summary>
/// S8 for the server session store on a real redis-server: a server connection that ends without close_notify, or with a
/// fatal alert, takes its sessions out of the store, so another context or process sharing the store does not resume
/// them; a cleanly closed one stays resumable there. (OpenSSL's own removal reaches only its internal cache.) The store's
/// instruments on the FastSession meter count what happened.
/// </summary>
public sealed class ServerStoreUncleanCloseTests : LiveObjectTest
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public enum Ending
    {
        Clean,
        Unclean,
        FatalAlert,
    }

    [Theory]
    [InlineData(TlsVersion.Tls12, Ending.Clean)]
    [InlineData(TlsVersion.Tls12, Ending.Unclean)]
    [InlineData(TlsVersion.Tls12, Ending.FatalAlert)]
    [InlineData(TlsVersion.Tls13, Ending.Clean)]
    [InlineData(TlsVersion.Tls13, Ending.Unclean)]
    [InlineData(TlsVersion.Tls13, Ending.FatalAlert)]
    public async Task SessionOfAConnectionThatEndedUncleanly_IsNotResumedByAnotherContextSharingTheStore(TlsVersion version, Ending ending)
    {
        using var meter = new MetricRecorder();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        string prefix = "s8" + Guid.NewGuid().ToString("N")[..6];
        // Two multiplexers, as two processes would have.
        await using ConnectionMultiplexer redisA = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location(prefix)).ToConfiguration());
        await using ConnectionMultiplexer redisB = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location(prefix)).ToConfiguration());
        using SslContext client = SslContext.CreateClient(new SslClientOptions { MinVersion = version, MaxVersion = version, DangerousAcceptAnyServerCertificate = true });
        using SslContext serverA = Server(version, new RedisServerSessionStore(redisA, prefix, TimeSpan.FromSeconds(2)));
        using SslContext serverB = Server(version, new RedisServerSessionStore(redisB, prefix, TimeSpan.FromSeconds(2)));

        (bool firstReused, SslSession session) = await EngineHandshake.ConnectAsync(client, serverA, default, ending);
        using (session)
        {
            Assert.False(firstReused);
            Assert.False(session.IsNone);
            if (ending == Ending.Clean)
            {
                await WaitUntilAsync(() => serverA.ServerSessionCacheCounters.Stored >= 1, "the clean connection's session reached Redis");
                await Task.Delay(300); // room for a wrong removal to land before the other context looks
                await WaitUntilAsync(async () => await KeyCountAsync(redisA, prefix) >= 1, "the clean connection's session still in Redis");
            }
            else
            {
                // The removal runs in the background after Dispose; Redis itself must end up without the session.
                await WaitUntilAsync(() => serverA.ServerSessionCacheCounters.Removed >= 1, "the store removal after the unclean end");
                await WaitUntilAsync(async () => await KeyCountAsync(redisA, prefix) == 0, "Redis without the dead session");
            }

            (bool reused, SslSession next) = await EngineHandshake.ConnectAsync(client, serverB, session, Ending.Clean);
            next.Dispose();
            Assert.Equal(ending == Ending.Clean, reused);
            Assert.Equal(1, serverB.ServerSessionCacheCounters.Lookups);
            Assert.Equal(ending == Ending.Clean ? 1 : 0, serverB.ServerSessionCacheCounters.Hits);
        }

        SslServerSessionCacheCounters a = serverA.ServerSessionCacheCounters;
        if (ending != Ending.Clean)
        {
            // Every session the dead connection stored (two TLS 1.3 tickets, one TLS 1.2 id), not more.
            await WaitUntilAsync(() => a.Removed == a.Stored, $"all of A's stored sessions removed ({a})");
        }
        Assert.True(a.Errors == 0, a.ToString());
        Assert.Equal(ending == Ending.Clean ? 0 : a.Stored, a.Removed);
        // The same facts on the FastSession meter (process-wide: other contexts may only add; each is recorded just after
        // its context counter, so wait for it rather than read it once).
        string reason = ending == Ending.FatalAlert ? "fatal_error" : "unclean_close";
        await WaitUntilAsync(() => meter.Sum(FastSessionTelemetry.ServerStoreLookups) >= 1, "lookups on the meter");
        Assert.NotEmpty(meter.Of(FastSessionTelemetry.ServerStoreLookupDuration)); // B waited for Redis
        Assert.All(meter.Of(FastSessionTelemetry.ServerStoreLookupDuration), m => Assert.InRange(m.Value, 0, 2.5));
        await WaitUntilAsync(() => meter.Sum(FastSessionTelemetry.ServerStoreStored) >= a.Stored, "stored on the meter");
        await WaitUntilAsync(() => meter.Sum(FastSessionTelemetry.ServerStoreHits) >= (ending == Ending.Clean ? 1 : 0), "hits on the meter");
        await WaitUntilAsync(() => meter.Sum(FastSessionTelemetry.ServerStoreMisses) >= (ending == Ending.Clean ? 0 : 1), "misses on the meter");
        await WaitUntilAsync(() => meter.Sum(FastSessionTelemetry.ServerStoreRemovals, (FastSessionTelemetry.InvalidationReasonTag, reason)) >= a.Removed, "removals on the meter");
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task OpenSslClientKilledMidConnection_ItsSessionIsNotResumedOnAnotherServeProcess_ACleanOneIs(TlsVersion version)
    {
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        string prefix = "kill";
        using Fleet fleet = await Fleet.StartAsync(pki, 2, "--no-tickets", "--session-store", redis.Location(prefix), "--session-store-timeout", "1000");
        await using ConnectionMultiplexer mux = await ConnectionMultiplexer.ConnectAsync(RedisLocation.Parse(redis.Location(prefix)).ToConfiguration());

        // Clean: s_client sends close_notify at the end of its input; the session resumes on the other process.
        string clean = pki.PathOf("clean.pem");
        Assert.False(await OpenSslClient.ConnectAsync(fleet.Ports[0], version, "-sess_out", clean));
        await Task.Delay(500); // room for a wrong removal
        await WaitUntilAsync(async () => await KeyCountAsync(mux, prefix) >= 1, "the clean connection's session still in Redis");
        Assert.True(await OpenSslClient.ConnectAsync(fleet.Ports[1], version, "-sess_in", clean));
        // Start the unclean case from an empty store (the clean connections' sessions are still there).
        await foreach (RedisKey key in mux.GetServer(mux.GetEndPoints().Single()).KeysAsync(pattern: prefix + ":server:*"))
        {
            await mux.GetDatabase().KeyDeleteAsync(key);
        }

        // Unclean: s_client is killed while connected (its session file already written): serve sees EOF without
        // close_notify, and the session must leave Redis, so the same file does not resume on the other process.
        string killed = pki.PathOf("killed.pem");
        var arguments = new[] { "s_client", "-connect", $"127.0.0.1:{fleet.Ports[0]}", version == TlsVersion.Tls12 ? "-tls1_2" : "-tls1_3", "-servername", "localhost", "-sess_out", killed };
        using (ToolProcess client = ToolProcess.Start("openssl", arguments))
        {
            await client.WriteAsync("ping-fleet\n");
            await client.WaitForOutputAsync(o => o.Split('\n').Any(l => l.Trim() == "ping-fleet") && o.Contains("New, ", StringComparison.Ordinal), Fleet.Timeout, "the echo");
            await WaitUntilAsync(async () => await KeyCountAsync(mux, prefix) >= 1, "the live connection's session in Redis");
        } // killed here
        await WaitUntilAsync(async () => await KeyCountAsync(mux, prefix) == 0, "Redis without the killed client's sessions");
        Assert.False(await OpenSslClient.ConnectAsync(fleet.Ports[1], version, "-sess_in", killed));
        Assert.False(await OpenSslClient.ConnectAsync(fleet.Ports[0], version, "-sess_in", killed));
    }

    [Fact]
    public async Task RedisDown_LookupAndStoreErrors_AreCountedOnTheMeter_ByOperationAndType()
    {
        using var meter = new MetricRecorder();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        string prefix = "down";
        var options = RedisLocation.Parse(redis.Location(prefix)).ToConfiguration();
        await using ConnectionMultiplexer mux = await ConnectionMultiplexer.ConnectAsync(options);
        using SslContext client = SslContext.CreateClient(new SslClientOptions { MinVersion = TlsVersion.Tls12, MaxVersion = TlsVersion.Tls12, DangerousAcceptAnyServerCertificate = true });
        using SslContext server = Server(TlsVersion.Tls12, new RedisServerSessionStore(mux, prefix, TimeSpan.FromMilliseconds(200)));
        server.ServerSessionLookupTimeout = TimeSpan.FromMilliseconds(200);
        (_, SslSession session) = await EngineHandshake.ConnectAsync(client, server, default, Ending.Clean);
        using (session)
        {
            await WaitUntilAsync(() => server.ServerSessionCacheCounters.Stored >= 1, "the first session stored");
            await redis.StopAsync();
            (bool reused, SslSession next) = await EngineHandshake.ConnectAsync(client, server, session, Ending.Unclean);
            next.Dispose();
            Assert.False(reused);
        }
        // The failed GET, the failed SET of the new session and the failed DEL after the unclean end.
        await WaitUntilAsync(() => server.ServerSessionCacheCounters.Errors >= 3, "three failed store calls counted");
        SslServerSessionCacheCounters counts = server.ServerSessionCacheCounters;
        Assert.Equal(1, counts.Misses);
        Assert.Equal(0, counts.Removed);
        foreach (string operation in new[] { "get", "add", "remove" })
        {
            Assert.True(meter.Sum(FastSessionTelemetry.ServerStoreErrors, (FastSessionTelemetry.ServerStoreOperationTag, operation)) >= 1, operation);
        }
        Assert.All(meter.Of(FastSessionTelemetry.ServerStoreErrors), m => Assert.False(string.IsNullOrEmpty(m.Tags[FastSessionTelemetry.ErrorTypeTag] as string)));
    }

    private static SslContext Server(TlsVersion version, ISslServerSessionStore store)
    {
        SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version, EnableTickets = false });
        server.ServerSessionLookupTimeout = TimeSpan.FromSeconds(2);
        server.UseServerSessionStore(store);
        return server;
    }

    private static async Task<long> KeyCountAsync(ConnectionMultiplexer redis, string prefix)
    {
        IServer server = redis.GetServer(redis.GetEndPoints().Single());
        long count = 0;
        await foreach (RedisKey _ in server.KeysAsync(pattern: prefix + ":server:*"))
        {
            count++;
        }
        return count;
    }

    // Polls Redis without blocking a thread (the pool is small on 2 cores); a Redis timeout under load is "not yet".
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (RedisTimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for: {what}");
            await Task.Delay(20);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for: {what}");
            await Task.Delay(20);
        }
    }
}

/// <summary>A handshake over the engine API answering the server's store lookups as FastSslStream does, then an ending.</summary>
internal static class EngineHandshake
{
    public static async Task<(bool Reused, SslSession Last)> ConnectAsync(SslContext clientContext, SslContext serverContext, SslSession resumeWith, ServerStoreUncleanCloseTests.Ending ending)
    {
        using SslConnection c = clientContext.CreateConnection("localhost");
        using SslConnection s = serverContext.CreateConnection();
        if (!resumeWith.IsNone)
        {
            c.SetSession(resumeWith);
        }
        byte[] toServer = new byte[64 * 1024], toClient = new byte[64 * 1024], plain = new byte[1024];
        await DriveAsync(c, s, toServer, toClient, plain);
        // The client keeps its session as another process would (s_client -sess_out writes it on receipt): exported
        // before the ending, so only the server's side of S8 is under test here.
        SslSession last = EngineDrive.TakeNewest(c);
        byte[] der;
        using (last)
        {
            der = last.IsNone ? [] : last.ToDer();
        }
        switch (ending)
        {
            case ServerStoreUncleanCloseTests.Ending.Clean:
                int close = c.Shutdown(toServer).OutputBytes;
                s.Read(toServer.AsSpan(0, close), plain, toClient);
                s.Shutdown(toClient);
                break;
            case ServerStoreUncleanCloseTests.Ending.FatalAlert:
                // An application-data record that fails authentication: the server sends bad_record_mac and faults.
                byte[] forged = new byte[5 + 48];
                forged[0] = 0x17;
                forged[1] = 0x03;
                forged[2] = 0x03;
                forged[4] = 48;
                Random.Shared.NextBytes(forged.AsSpan(5));
                Assert.Equal(SslStatus.Failed, s.Read(forged, plain, toClient).Status);
                Assert.True(s.IsFaulted);
                break;
            default:
                break; // Unclean: both sides are freed without close_notify (a peer that hung up).
        }
        return (c.SessionReused, der.Length == 0 ? default : SslSession.FromDer(der, clientContext));
    }
    /// <summary>
    /// Runs the handshake flights between <paramref name="c"/> and <paramref name="s"/> over the given buffers, answering each
    /// <see cref="SslStatus.NeedsSessionLookup"/> as FastSslStream does, then reads the TLS 1.3 tickets of the last flight.
    /// </summary>
    public static async Task DriveAsync(SslConnection c, SslConnection s, byte[] toServer, byte[] toClient, byte[] plain, bool expectSynchronousLookup = false)
    {
        int nServer = c.Handshake(default, toServer).OutputBytes, nClient = 0;
        bool clientDone = false, serverDone = false;
        for (int flight = 0; flight < 16 && !(clientDone && serverDone && nServer == 0 && nClient == 0); flight++)
        {
            if (!serverDone || nServer > 0)
            {
                SslIoResult r = serverDone ? s.Read(toServer.AsSpan(0, nServer), plain, toClient) : s.Handshake(toServer.AsSpan(0, nServer), toClient);
                while (r.Status == SslStatus.NeedsSessionLookup)
                {
                    Assert.Equal(0, r.OutputBytes);
                    ValueTask lookup = s.LookUpSessionAsync(CancellationToken.None);
                    Assert.True(!expectSynchronousLookup || lookup.IsCompletedSuccessfully, "the lookup of a store that answered at once did not complete at once");
                    await lookup;
                    r = s.Handshake(default, toClient);
                }
                Assert.NotEqual(SslStatus.Failed, r.Status);
                nClient = r.OutputBytes;
                serverDone |= r.IsCompleted;
                nServer = 0;
            }
            if (!clientDone || nClient > 0)
            {
                SslIoResult r = clientDone ? c.Read(toClient.AsSpan(0, nClient), plain, toServer) : c.Handshake(toClient.AsSpan(0, nClient), toServer);
                Assert.NotEqual(SslStatus.Failed, r.Status);
                nServer = r.OutputBytes;
                clientDone |= r.IsCompleted;
                nClient = 0;
            }
        }
        Assert.True(clientDone && serverDone);
        c.Read(default, plain, toServer); // TLS 1.3 tickets that came with the server's last flight
    }
}
