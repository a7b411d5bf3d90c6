using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Reliability;

/// <summary>
/// <see cref="PublicApiRaceTests"/> for the newest surface: the server session store (<see cref="SslContext.UseServerSessionStore"/>,
/// <see cref="SslConnection.TryGetSessionLookup"/>, <see cref="SslConnection.ProvideSession"/>, <see cref="SslContext.ServerSessionLookupTimeout"/>,
/// the counters) and TLS 1.3 early data (<see cref="SslConnection.WriteEarlyData"/>, <see cref="SslConnection.ReadEarlyData"/>,
/// <see cref="SslConnection.DecideEarlyData"/>, <see cref="SslConnection.WriteHalfRtt"/> and the early-data getters). Three threads
/// call them at random on the SAME contexts and connections, with real engine handshakes (full, resumed through a store that lies
/// at random, 0-RTT) running among Dispose, Reset and Handshake of the same objects, for <see cref="Race.Duration"/>
/// (FASTSESSION_RACE_SECONDS). Each call works or throws what its member documents; a signal or sanitizer report ends the process
/// (tools/sanitize-managed-tests.sh), and <see cref="LiveObjectTest"/> proves everything was freed exactly once.
/// </summary>
public sealed class StoreAndEarlyDataRaceTests(ITestOutputHelper output) : LiveObjectTest
{
    private const int Threads = 3;

    private static readonly Type[] Lifetime = [typeof(ObjectDisposedException), typeof(InvalidOperationException)];

    // Engine calls on a connection a third thread reset or fed garbage end in a failed handshake or a protocol error.
    private static readonly Type[] Engine = [.. Lifetime, typeof(SslHandshakeException), typeof(SslProtocolException)];

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void StoreAndEarlyDataMembers_ThreeThreadsOnTheSameObjects_WorkOrThrowDocumented(TlsVersion version)
    {
        using var world = new World(version);
        (string Name, Type[] Allowed, Action<World, EngineDrive, Random> Op)[] table = version == TlsVersion.Tls13 ? [.. StoreOperations, .. EarlyOperations] : StoreOperations;
        Race.MemberRun run = Race.Members(world, table, static () => new EngineDrive(), Threads, TimeSpan.FromSeconds(30));
        ConcurrentQueue<string> errors = run.Errors;
        ConcurrentDictionary<string, long> counts = run.Counts;

        output.WriteLine($"{run} (of {table.Length}) on {Threads} threads");
        output.WriteLine($"resumed through the store {world.Resumed}, 0-RTT accepted {world.EarlyAccepted} / rejected {world.EarlyRejected}; store {world.Store.Gets} gets, {world.Store.Adds} adds, {world.Store.Removes} removes");
        output.WriteLine(run.CountsByName());
        foreach (string error in errors)
        {
            output.WriteLine(error);
        }
        Assert.True(errors.IsEmpty, string.Join("\n\n", errors));
        Assert.True(counts.Count >= table.Length - 2, $"only {counts.Count} of {table.Length} members ran");
        Assert.True(world.Store.Gets > 0, "no lookup ever reached the store: the race did not exercise it");
        if (version == TlsVersion.Tls13)
        {
            Assert.True(world.EarlyAccepted + world.EarlyRejected > 0, "no 0-RTT exchange completed: the race did not exercise early data");
        }
    }

    /// <summary>
    /// FastSslStream pairs on loopback: 0-RTT resumptions against a server with a store that lies at random and one with an early-data
    /// policy, while a third party disposes either stream, or hangs up the client's socket, at a random moment of the handshake (during
    /// the store lookup, the early-data decision, 0.5-RTT). Each side ends authenticated or with a documented exception, within
    /// bounds; undisturbed pairs deliver the early request intact; every connection is freed.
    /// </summary>
    [Fact]
    public async Task Streams_ZeroRttWithStoreAndPolicy_DisposedAtRandomMoments_EndDocumented()
    {
        var store = new HostileServerStore(StoreBehavior.Random);
        using SslContext storeServer = SslContext.CreateServer(new SslServerOptions { MinVersion = TlsVersion.Tls13, EnableTickets = false, DangerousEnableReplayableEarlyData = true });
        storeServer.ServerSessionLookupTimeout = TimeSpan.FromMilliseconds(20);
        storeServer.UseServerSessionStore(store);
        using SslContext policyServer = SslContext.CreateServer(new SslServerOptions
        {
            MinVersion = TlsVersion.Tls13,
            DangerousEnableReplayableEarlyData = true,
            EarlyDataPolicy = _ => Random.Shared.Next(3) != 0,
        });
        using SslContext client = SslContext.CreateClient(new SslClientOptions { MinVersion = TlsVersion.Tls13, DangerousAcceptAnyServerCertificate = true, DangerousEnableReplayableEarlyData = true });
        using var tcp = new Streams.LoopbackTcp();
        byte[] request = new byte[1500];
        Random.Shared.NextBytes(request);
        Type[] allowed = [typeof(ObjectDisposedException), typeof(System.IO.IOException), typeof(SslHandshakeException), typeof(OperationCanceledException)];
        var errors = new ConcurrentQueue<string>();
        int rounds = 0, disturbed = 0, accepted = 0;
        var clock = Stopwatch.StartNew();
        while ((clock.Elapsed < Race.Duration || rounds < 10) && errors.IsEmpty)
        {
            SslContext server = rounds % 2 == 0 ? storeServer : policyServer;
            store.Behavior = Random.Shared.Next(3) == 0 ? StoreBehavior.Honest : StoreBehavior.Random;
            using SslSession ticket = Misuse.EarlyDataMisuseTests.Ticket(client, server);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            (System.Net.Sockets.Socket cs, System.Net.Sockets.Socket ss) = await tcp.ConnectAsync(cts.Token);
            var c = new FastSslStream(new System.Net.Sockets.NetworkStream(cs, ownsSocket: true));
            var s = new FastSslStream(new System.Net.Sockets.NetworkStream(ss, ownsSocket: true));
            int disturbance = Random.Shared.Next(5); // 0, 1: none; 2: dispose the server; 3: dispose the client; 4: the client's socket hangs up
            Task serverSide = s.AuthenticateAsServerAsync(server, cts.Token);
            Task clientSide = c.AuthenticateAsClientAsync(client, "localhost", ticket, request, cts.Token);
            if (disturbance >= 2)
            {
                disturbed++;
                await Task.Delay(Random.Shared.Next(0, 8));
                switch (disturbance)
                {
                    case 2: await s.DisposeAsync(); break;
                    case 3: await c.DisposeAsync(); break;
                    default: cs.Shutdown(System.Net.Sockets.SocketShutdown.Both); break;
                }
            }
            try
            {
                Exception? serverError = await Record.ExceptionAsync(() => serverSide.WaitAsync(TimeSpan.FromSeconds(10)));
                Exception? clientError = await Record.ExceptionAsync(() => clientSide.WaitAsync(TimeSpan.FromSeconds(10)));
                foreach ((string side, Exception? e) in new[] { ("server", serverError), ("client", clientError) })
                {
                    if (e is not null && (disturbance < 2 || !Array.Exists(allowed, a => a.IsInstanceOfType(e))))
                    {
                        errors.Enqueue($"round {rounds}, disturbance {disturbance}, {side}: {e}");
                    }
                }
                if (disturbance < 2 && serverError is null && clientError is null)
                {
                    byte[] got = new byte[request.Length];
                    int read = 0;
                    while (read < got.Length)
                    {
                        int n = await s.ReadAsync(got.AsMemory(read), cts.Token);
                        Assert.NotEqual(0, n);
                        read += n;
                    }
                    Assert.Equal(request, got); // accepted or rejected (then written again), the request arrives intact
                    accepted += s.EarlyDataStatus == SslEarlyDataStatus.Accepted ? 1 : 0;
                }
            }
            finally
            {
                await c.DisposeAsync();
                await s.DisposeAsync();
            }
            rounds++;
        }
        for (int i = 0; i < 50 && LiveObjectCounts.Current.Connections > 0; i++)
        {
            await Task.Delay(100); // streams disposed mid-handshake free their connection when the running step ends (bounded)
        }
        output.WriteLine($"{rounds} stream pairs ({disturbed} disturbed), {accepted} with early data accepted; store {storeServer.ServerSessionCacheCounters}");
        Assert.True(errors.IsEmpty, string.Join("\n\n", errors));
    }


    // ---- The shared objects ---------------------------------------------------------------------------------

    private sealed class SessionBox(SslSession session)
    {
        public readonly SslSession Session = session;
    }

    private sealed class World : IDisposable
    {
        public readonly TlsVersion Version;
        public readonly HostileServerStore Store = new(StoreBehavior.Random);
        public SslContext Client;
        public SslContext StoreServer;
        public SslContext EarlyServer; // TLS 1.3: early data with a policy (the client-hello pause of early_data.c)
        public SslContext PlainServer; // neither store nor early data: the wrong context for half of the calls
        public SslConnection ClientConnection;
        public SslConnection ServerConnection;
        public readonly SessionBox?[] Sessions = new SessionBox?[4];
        public long Resumed, EarlyAccepted, EarlyRejected;

        public World(TlsVersion version)
        {
            Version = version;
            Client = NewClient();
            StoreServer = NewStoreServer();
            EarlyServer = NewEarlyServer();
            PlainServer = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version });
            ClientConnection = Client.CreateConnection("localhost");
            ServerConnection = StoreServer.CreateConnection();
        }

        public SslContext NewClient() => SslContext.CreateClient(new SslClientOptions
        {
            MinVersion = Version,
            MaxVersion = Version,
            DangerousAcceptAnyServerCertificate = true,
            DangerousEnableReplayableEarlyData = Version == TlsVersion.Tls13,
        });

        // TLS 1.3: a store and early data together (allowed without a policy): OpenSSL's single-use tickets go to the store.
        public SslContext NewStoreServer()
        {
            SslContext server = SslContext.CreateServer(new SslServerOptions
            {
                MinVersion = Version,
                MaxVersion = Version,
                EnableTickets = false,
                DangerousEnableReplayableEarlyData = Version == TlsVersion.Tls13,
            });
            server.ServerSessionLookupTimeout = TimeSpan.FromMilliseconds(Random.Shared.Next(0, 30));
            server.UseServerSessionStore(Store);
            return server;
        }

        public SslContext NewEarlyServer() => Version != TlsVersion.Tls13
            ? SslContext.CreateServer(new SslServerOptions { MinVersion = Version, MaxVersion = Version })
            : SslContext.CreateServer(new SslServerOptions
            {
                MinVersion = TlsVersion.Tls13,
                DangerousEnableReplayableEarlyData = true,
                MaxEarlyData = 1024,
                EarlyDataPolicy = c => Random.Shared.Next(4) switch { 0 => false, 1 => throw new InvalidOperationException("policy throws"), _ => true },
            });

        public static void Replace<T>(ref T slot, T value) where T : class, IDisposable => Interlocked.Exchange(ref slot, value).Dispose();

        public SslContext AnyServer(Random r) => r.Next(3) switch
        {
            0 => Volatile.Read(ref StoreServer),
            1 => Volatile.Read(ref EarlyServer),
            _ => Volatile.Read(ref PlainServer),
        };

        public SslContext AnyContext(Random r) => r.Next(4) == 0 ? Volatile.Read(ref Client) : AnyServer(r);

        public SslConnection AnyConnection(Random r) => r.Next(2) == 0 ? Volatile.Read(ref ClientConnection) : Volatile.Read(ref ServerConnection);

        public SslConnection Server => Volatile.Read(ref ServerConnection);

        public SslConnection ClientSide => Volatile.Read(ref ClientConnection);

        public void PutSession(Random r, SslSession session)
        {
            if (session.IsNone)
            {
                return;
            }
            Interlocked.Exchange(ref Sessions[r.Next(Sessions.Length)], new SessionBox(session))?.Session.Dispose();
        }

        public SslSession AnySession(Random r) => Volatile.Read(ref Sessions[r.Next(Sessions.Length)])?.Session ?? default;

        public void TakeSessions(Random r, SslConnection c)
        {
            while (c.TryTakeNewSession(out SslSession s))
            {
                PutSession(r, s);
            }
        }

        public void Dispose()
        {
            for (int i = 0; i < Sessions.Length; i++)
            {
                Interlocked.Exchange(ref Sessions[i], null)?.Session.Dispose();
            }
            ClientConnection.Dispose();
            ServerConnection.Dispose();
            Client.Dispose();
            StoreServer.Dispose();
            EarlyServer.Dispose();
            PlainServer.Dispose();
        }
    }

    // A fresh pair owned by this call: a whole exchange that other threads cannot spoil, so the race always carries real
    // resumptions and 0-RTT handshakes; published afterwards for the others to abuse (and dispose).
    private static void FreshExchange(World w, EngineDrive d, Random r, bool zeroRtt)
    {
        SslContext serverContext = zeroRtt && r.Next(2) == 0 ? Volatile.Read(ref w.EarlyServer) : Volatile.Read(ref w.StoreServer);
        SslConnection c = Volatile.Read(ref w.Client).CreateConnection("localhost");
        SslConnection s;
        try
        {
            s = serverContext.CreateConnection();
        }
        catch
        {
            c.Dispose();
            throw;
        }
        try
        {
            SslSession resume = w.AnySession(r);
            if (zeroRtt)
            {
                byte[] early = new byte[r.Next(1, 3000)];
                (int read, SslEarlyDataStatus status) = d.ZeroRtt(c, s, resume, early, "half"u8);
                if (read >= 0 && c.IsHandshakeComplete)
                {
                    Interlocked.Increment(ref status == SslEarlyDataStatus.Accepted ? ref w.EarlyAccepted : ref w.EarlyRejected);
                }
            }
            else
            {
                if (!resume.IsNone)
                {
                    c.SetSession(resume);
                }
                if (d.Handshake(c, s) && s.SessionReused)
                {
                    Interlocked.Increment(ref w.Resumed);
                }
            }
            if (c.IsHandshakeComplete && s.IsHandshakeComplete && r.Next(3) != 0)
            {
                int close = c.Shutdown(d.ToServer).OutputBytes;
                s.Read(d.ToServer.AsSpan(0, close), d.Plain, d.ToClient);
                s.Shutdown(d.ToClient);
            }
            w.TakeSessions(r, c);
        }
        finally
        {
            // Published half the time (the others then use, reset and dispose a connection that ran early data or a lookup).
            if (r.Next(2) == 0)
            {
                World.Replace(ref w.ClientConnection, c);
                World.Replace(ref w.ServerConnection, s);
            }
            else
            {
                c.Dispose();
                s.Dispose();
            }
        }
    }

    private static int Room(Random r) => r.Next(4) switch { 0 => 0, 1 => r.Next(1, 64), _ => r.Next(64, 64 * 1024) };

    private static byte[] Garbage(World w, Random r)
    {
        switch (r.Next(5))
        {
            case 0:
                return [];
            case 1:
                SslSession s = w.AnySession(r);
                return s.IsNone ? [] : s.ToDer();
            case 2:
                return new byte[r.Next(1, 1 << 20)];
            default:
                byte[] junk = new byte[r.Next(1, 600)];
                r.NextBytes(junk);
                junk[0] = 0x30;
                return junk;
        }
    }

    // ---- The server session store ---------------------------------------------------------------------------

    private static readonly (string Name, Type[] Allowed, Action<World, EngineDrive, Random> Op)[] StoreOperations =
    [
        ("FreshExchange(store)", [.. Engine, typeof(ArgumentException)], (w, d, r) => FreshExchange(w, d, r, zeroRtt: false)),
        ("Drive.Handshake(shared)", [.. Engine, typeof(ArgumentException)], (w, d, r) =>
        {
            SslConnection c = w.ClientSide, s = w.Server;
            SslSession resume = w.AnySession(r);
            if (!resume.IsNone && r.Next(2) == 0) { c.SetSession(resume); }
            if (d.Handshake(c, s)) { w.TakeSessions(r, c); }
        }),
        ("SslConnection.TryGetSessionLookup", Lifetime, (w, d, r) =>
        {
            if (w.AnyConnection(r).TryGetSessionLookup(out SslSessionLookup lookup))
            {
                Assert.InRange(lookup.Key.Length, 1, 32);
            }
        }),
        ("SslConnection.ProvideSession", Lifetime, (w, d, r) => _ = w.AnyConnection(r).ProvideSession(Garbage(w, r))),
        // The right session for the pending key, answered twice (the second must be refused, the first session freed once).
        ("SslConnection.ProvideSession(right, twice)", Lifetime, (w, d, r) =>
        {
            SslConnection c = w.Server;
            if (c.TryGetSessionLookup(out SslSessionLookup lookup) && w.Store.TryPeek(lookup.Key.Span, out byte[] der))
            {
                try
                {
                    c.ProvideSession(der);
                }
                finally
                {
                    c.ProvideSession(der);
                }
            }
        }),
        ("SslConnection.LookUpSessionAsync", Lifetime, (w, d, r) => w.Server.LookUpSessionAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult()),
        ("SslConnection.Handshake(server)", Engine, (w, d, r) =>
        {
            SslConnection s = w.Server;
            SslIoResult result = s.Handshake(d.ToServer.AsSpan(0, r.Next(0, 64)), d.ToClient);
            if (result.Status == SslStatus.NeedsSessionLookup && r.Next(2) == 0 && s.TryGetSessionLookup(out _))
            {
                s.ProvideSession(Garbage(w, r));
            }
        }),
        ("SslConnection.Handshake(client)", Engine, (w, d, r) => w.ClientSide.Handshake(default, d.ToServer)),
        ("SslConnection.Read", Engine, (w, d, r) => w.AnyConnection(r).Read(default, d.Plain, d.ToClient)),
        ("SslConnection.Shutdown", Engine, (w, d, r) => w.AnyConnection(r).Shutdown(d.ToClient)),
        ("SslConnection.Reset", Lifetime, (w, d, r) => { SslConnection c = w.AnyConnection(r); c.Reset(c.IsServer ? null : "localhost"); }),
        ("SslConnection.Dispose", Lifetime, (w, d, r) => { if (r.Next(3) == 0) { w.AnyConnection(r).Dispose(); } }),
        ("SslContext.CreateConnection(server)", Lifetime, (w, d, r) => World.Replace(ref w.ServerConnection, w.AnyServer(r).CreateConnection())),
        ("SslContext.CreateConnection(client)", Lifetime, (w, d, r) => World.Replace(ref w.ClientConnection, Volatile.Read(ref w.Client).CreateConnection("localhost"))),
        ("SslConnection.SetSession", [.. Lifetime, typeof(ArgumentException)], (w, d, r) =>
        {
            SslSession s = w.AnySession(r);
            if (!s.IsNone) { w.ClientSide.SetSession(s); }
        }),
        ("SslConnection.TryAcquireSession", Lifetime, (w, d, r) => { if (w.AnyConnection(r).TryAcquireSession(out SslSession s)) { w.PutSession(r, s); } }),
        ("SslContext.ServerSessionLookupTimeout=", [.. Lifetime, typeof(ArgumentOutOfRangeException)], (w, d, r) =>
        {
            SslContext c = w.AnyContext(r);
            c.ServerSessionLookupTimeout = r.Next(8) == 0 ? TimeSpan.FromMilliseconds(r.Next(-10, 0)) : TimeSpan.FromMilliseconds(r.Next(0, 30));
            _ = c.ServerSessionLookupTimeout;
        }),
        ("SslContext.StoreGetters", Lifetime, (w, d, r) =>
        {
            SslContext c = w.AnyContext(r);
            _ = c.SessionCacheMode; _ = c.ServerSessionStore; _ = c.ServerSessionCacheCounters.ToString(); _ = SslServerSessionCacheCounters.Native;
            _ = c.EarlyDataEnabled; _ = c.MaxEarlyData;
        }),
        ("SslContext.UseServerSessionStore", [.. Lifetime, typeof(ArgumentNullException)], (w, d, r) => w.AnyContext(r).UseServerSessionStore(w.Store)),
        ("SslContext.Dispose+CreateStoreServer", Lifetime, (w, d, r) => { if (r.Next(10) == 0) { World.Replace(ref w.StoreServer, w.NewStoreServer()); } }),
        ("SslContext.Dispose+CreateClient", Lifetime, (w, d, r) => { if (r.Next(10) == 0) { World.Replace(ref w.Client, w.NewClient()); } }),
        ("HostileServerStore.Behavior=", Lifetime, (w, d, r) => w.Store.Behavior = r.Next(3) == 0 ? StoreBehavior.Honest : StoreBehavior.Random),
        ("SslSession.Dispose", Lifetime, (w, d, r) => { if (r.Next(4) == 0) { w.AnySession(r).Dispose(); } }),
    ];

    // ---- TLS 1.3 early data ----------------------------------------------------------------------------------

    private static readonly (string Name, Type[] Allowed, Action<World, EngineDrive, Random> Op)[] EarlyOperations =
    [
        ("FreshExchange(0-RTT)", [.. Engine, typeof(ArgumentException)], (w, d, r) => FreshExchange(w, d, r, zeroRtt: true)),
        ("Drive.ZeroRtt(shared)", [.. Engine, typeof(ArgumentException)], (w, d, r) =>
        {
            d.Allow = r.Next(3) switch { 0 => true, 1 => false, _ => null };
            d.ZeroRtt(w.ClientSide, w.Server, w.AnySession(r), new byte[r.Next(0, 2000)], "half"u8);
        }),
        // Output buffers of any size, down to nothing: what does not fit waits for DrainOutput.
        ("SslConnection.WriteEarlyData", Engine, (w, d, r) => w.AnyConnection(r).WriteEarlyData(new byte[r.Next(0, 40_000)], d.ToServer.AsSpan(0, Room(r)))),
        ("SslConnection.DrainOutput", Lifetime, (w, d, r) => w.AnyConnection(r).DrainOutput(d.ToClient.AsSpan(0, Room(r)))),
        ("SslConnection.ReadEarlyData", [.. Engine, typeof(ArgumentException)], (w, d, r) =>
            w.AnyConnection(r).ReadEarlyData(d.ToServer.AsSpan(0, r.Next(0, 64)), d.Plain.AsSpan(0, r.Next(0, 2048)), d.ToClient.AsSpan(0, Room(r)))),
        ("SslConnection.DecideEarlyData", Lifetime, (w, d, r) => w.AnyConnection(r).DecideEarlyData(r.Next(2) == 0, (SslEarlyDataReason)r.Next(0, 12))),
        ("SslConnection.WriteHalfRtt", Engine, (w, d, r) => w.AnyConnection(r).WriteHalfRtt(new byte[r.Next(0, 30_000)], d.ToClient.AsSpan(0, Room(r)))),
        ("SslConnection.EarlyDataGetters", Lifetime, (w, d, r) =>
        {
            SslConnection c = w.AnyConnection(r);
            _ = c.EarlyDataStatus; _ = c.EarlyDataReason; _ = c.MaxEarlyDataToSend; _ = c.IsEarlyDataFinished;
            _ = c.IsEarlyDataDecisionPending; _ = c.IsInHalfRtt;
        }),
        ("SslContext.Dispose+CreateEarlyServer", Lifetime, (w, d, r) => { if (r.Next(10) == 0) { World.Replace(ref w.EarlyServer, w.NewEarlyServer()); } }),
    ];
}
