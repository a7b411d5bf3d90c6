using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Streams;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Issue #10's "Done when", tried as a hostile user: three threads call random public members, in random order, on
/// the SAME objects (contexts, connections, sessions, views, the client cache, a ticket-key ring, streams), replacing
/// and disposing them under each other, for <see cref="Race.Duration"/> (FASTSESSION_RACE_SECONDS). Each call either
/// works or throws one of the exceptions its member documents; anything else fails the test with the member's name.
/// A signal or a sanitizer report ends the process (tools/sanitize-managed-tests.sh). The live-object check of
/// <see cref="LiveObjectTest"/> proves everything replaced or disposed under the others was freed exactly once.
/// </summary>
public sealed class PublicApiRaceTests : LiveObjectTest
{
    private const int Threads = 3;
    private readonly ITestOutputHelper _output;

    public PublicApiRaceTests(ITestOutputHelper output) => _output = output;

    // Exceptions a member documents for "another thread is using it / it was disposed / it failed earlier".
    private static readonly Type[] Lifetime = [typeof(ObjectDisposedException), typeof(InvalidOperationException)];

    // Engine calls may also end the connection: a failed handshake or a protocol error is the documented outcome of
    // feeding one connection's output to a peer that a third thread reset meanwhile.
    private static readonly Type[] Engine = [.. Lifetime, typeof(SslHandshakeException), typeof(SslProtocolException)];

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void AnyMemberAnyOrder_ThreeThreadsOnTheSameObjects_WorksOrThrowsDocumented(TlsVersion version)
    {
        var world = new World(version);
        Race.MemberRun run = Race.Members(world, Operations, static () => new Local(), Threads, TimeSpan.FromSeconds(20));
        world.Dispose();
        ConcurrentQueue<string> errors = run.Errors;
        ConcurrentDictionary<string, long> counts = run.Counts;

        _output.WriteLine($"{run} on {Threads} threads");
        _output.WriteLine(run.CountsByName());
        foreach (string error in errors)
        {
            _output.WriteLine(error);
        }
        Assert.True(errors.IsEmpty, string.Join("\n\n", errors));
        Assert.True(counts.Count >= Operations.Length - 4, $"only {counts.Count} of {Operations.Length} members ran");
    }

    /// <summary>
    /// Two authenticated <see cref="FastSslStream"/>s over a loopback socket pair; three threads per round call reads,
    /// writes, shutdown, dispose, the getters and the underlying <see cref="FastSslStream.Connection"/> on both ends.
    /// Nested I/O is refused with <see cref="NotSupportedException"/>; I/O after or during Dispose ends in
    /// <see cref="ObjectDisposedException"/> or <see cref="IOException"/>; a read waits at most 50 ms (cancelled).
    /// </summary>
    [Fact]
    public async Task StreamsAnyMemberAnyOrder_ThreeThreadsOnOnePair_WorksOrThrowsDocumented()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using var tcp = new LoopbackTcp();
        var errors = new ConcurrentQueue<string>();
        long operations = 0, refusals = 0, rounds = 0;
        var clock = Stopwatch.StartNew();
        Type[] allowed = [typeof(ObjectDisposedException), typeof(InvalidOperationException), typeof(IOException),
            typeof(NotSupportedException), typeof(OperationCanceledException), typeof(SslHandshakeException)];
        while (clock.Elapsed < Race.Duration && errors.IsEmpty)
        {
            using var setup = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            (var clientInner, var serverInner) = await tcp.ConnectStreamsAsync(setup.Token);
            var streams = new[] { new FastSslStream(clientInner), new FastSslStream(serverInner) };
            try
            {
                await Task.WhenAll(
                    streams[0].AuthenticateAsClientAsync(client, "localhost", default, setup.Token),
                    streams[1].AuthenticateAsServerAsync(server, setup.Token));
                var roundEnd = Stopwatch.StartNew();
                var tasks = new Task[Threads];
                for (int t = 0; t < Threads; t++)
                {
                    int threadSeed = Environment.TickCount + t;
                    tasks[t] = Task.Run(async () =>
                    {
                        var random = new Random(threadSeed);
                        byte[] buffer = new byte[4096];
                        while (roundEnd.ElapsedMilliseconds < 150)
                        {
                            FastSslStream s = streams[random.Next(2)];
                            int which = random.Next(12);
                            try
                            {
                                await StreamOperation(s, which, buffer, random);
                                Interlocked.Increment(ref operations);
                            }
                            catch (Exception e) when (Array.Exists(allowed, a => a.IsInstanceOfType(e)))
                            {
                                Interlocked.Increment(ref operations);
                                Interlocked.Increment(ref refusals);
                            }
                            catch (Exception e)
                            {
                                errors.Enqueue($"stream op {which}: {e}");
                                return;
                            }
                        }
                    });
                }
                Task all = Task.WhenAll(tasks);
                Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(30))));
                await all;
                rounds++;
            }
            finally
            {
                foreach (FastSslStream s in streams)
                {
                    await s.DisposeAsync();
                }
            }
        }
        // A stream disposed without a clean close frees its connection once the close attempt ends (bounded).
        for (int i = 0; i < 50 && LiveObjectCounts.Current.Connections > 0; i++)
        {
            await Task.Delay(100);
        }
        _output.WriteLine($"{rounds} stream pairs, {operations} operations, {refusals} refused with a documented exception");
        Assert.True(errors.IsEmpty, string.Join("\n\n", errors));
        Assert.True(rounds > 0);
    }

    private static async Task StreamOperation(FastSslStream s, int which, byte[] buffer, Random random)
    {
        switch (which)
        {
            case 0:
            case 1:
            {
                using var cts = new CancellationTokenSource(50);
                _ = await s.ReadAsync(buffer.AsMemory(0, random.Next(1, buffer.Length)), cts.Token);
                break;
            }
            case 2:
            case 3:
                await s.WriteAsync(buffer.AsMemory(0, random.Next(1, buffer.Length)));
                break;
            case 4:
                s.Write(buffer, 0, random.Next(1, 64));
                break;
            case 5:
            {
                using var cts = new CancellationTokenSource(100);
                await s.ShutdownAsync(cts.Token);
                break;
            }
            case 6:
                if (random.Next(8) == 0)
                {
                    s.Dispose();
                }
                break;
            case 7:
                if (random.Next(8) == 0)
                {
                    await s.DisposeAsync();
                }
                break;
            case 8:
                _ = s.IsAuthenticated;
                _ = s.SessionReused;
                _ = s.NegotiatedProtocol;
                _ = s.SessionsReceived;
                _ = s.CanRead;
                _ = s.CanWrite;
                _ = s.ToString();
                break;
            case 9:
            {
                SslConnection c = s.Connection;
                _ = c.SessionReused;
                _ = c.Protocol;
                _ = c.PendingOutput;
                _ = c.ResumptionOutcome;
                if (c.TryBorrowSession(out SslSessionRef view))
                {
                    view.GetInfo(out _);
                    _ = view.Id;
                }
                if (c.TryBorrowPeerCertificate(out PeerCertificateRef certificate))
                {
                    _ = certificate.GetRawData();
                }
                break;
            }
            case 10:
            {
                SslConnection c = s.Connection;
                if (c.TryAcquireSession(out SslSession session))
                {
                    using (session)
                    {
                        _ = session.ToDer();
                    }
                }
                break;
            }
            default:
            {
                using var cts = new CancellationTokenSource(50);
                await s.WaitForSessionTicketsAsync(TimeSpan.FromMilliseconds(20), 1, cts.Token);
                break;
            }
        }
    }

    // ---- The shared objects ---------------------------------------------------------------------------------

    /// <summary>An owned session in a box, so that threads swap whole handles (a struct store could tear).</summary>
    private sealed class SessionBox(SslSession session)
    {
        public readonly SslSession Session = session;
    }

    /// <summary>Per-thread scratch: a memory pipe and buffers (the pipe itself is not meant for two threads).</summary>
    private sealed class Local
    {
        public readonly SslMemoryPipe Pipe = new();
        public readonly byte[] Input = new byte[32 * 1024];
        public readonly byte[] Output = new byte[32 * 1024];
        public readonly byte[] Plain = new byte[32 * 1024];
    }

    private sealed class World : IDisposable
    {
        public readonly TlsVersion Version;
        public SslContext Client;
        public SslContext Server;
        public SslConnection ClientConnection;
        public SslConnection ServerConnection;
        public readonly SessionBox?[] Sessions = new SessionBox?[4];
        public SslClientSessionCache Cache = new(capacity: 16, perKey: 2);
        public TicketKeyRing Ring = new();

        public World(TlsVersion version)
        {
            Version = version;
            Client = Tls.Client(version);
            Server = Tls.Server(version);
            ClientConnection = Client.CreateConnection("localhost");
            ServerConnection = Server.CreateConnection();
        }

        public static void Replace<T>(ref T slot, T value) where T : class, IDisposable =>
            Interlocked.Exchange(ref slot, value).Dispose();

        public void PutSession(Random random, SslSession session)
        {
            if (session.IsNone)
            {
                return;
            }
            SessionBox? old = Interlocked.Exchange(ref Sessions[random.Next(Sessions.Length)], new SessionBox(session));
            old?.Session.Dispose();
        }

        public SslSession AnySession(Random random) => Volatile.Read(ref Sessions[random.Next(Sessions.Length)])?.Session ?? default;

        public SslConnection AnyConnection(Random random) =>
            random.Next(2) == 0 ? Volatile.Read(ref ClientConnection) : Volatile.Read(ref ServerConnection);

        public SslContext AnyContext(Random random) => random.Next(2) == 0 ? Volatile.Read(ref Client) : Volatile.Read(ref Server);

        public void Dispose()
        {
            for (int i = 0; i < Sessions.Length; i++)
            {
                Interlocked.Exchange(ref Sessions[i], null)?.Session.Dispose();
            }
            ClientConnection.Dispose();
            ServerConnection.Dispose();
            Cache.Dispose();
            Ring.Dispose();
            Client.Dispose();
            Server.Dispose();
        }
    }

    // ---- Every member, by name, with the exceptions it documents ---------------------------------------------

    private static readonly (string Name, Type[] Allowed, Action<World, Local, Random> Op)[] Operations =
    [
        // SslContext
        ("SslContext.CreateConnection(client)", Lifetime, (w, l, r) => World.Replace(ref w.ClientConnection, Volatile.Read(ref w.Client).CreateConnection("localhost"))),
        ("SslContext.CreateConnection(server)", Lifetime, (w, l, r) => World.Replace(ref w.ServerConnection, Volatile.Read(ref w.Server).CreateConnection())),
        ("SslContext.Dispose+CreateClient", Lifetime, (w, l, r) => { if (r.Next(6) == 0) { World.Replace(ref w.Client, Tls.Client(w.Version)); } }),
        ("SslContext.Dispose+CreateServer", Lifetime, (w, l, r) => { if (r.Next(6) == 0) { World.Replace(ref w.Server, Tls.Server(w.Version, tickets: r.Next(2) == 0)); } }),
        ("SslContext.FlushExpiredSessions", Lifetime, (w, l, r) => w.AnyContext(r).FlushExpiredSessions(DateTimeOffset.UtcNow.AddSeconds(r.Next(-10, 100_000)))),
        ("SslContext.CachedSessionCount", Lifetime, (w, l, r) => _ = w.AnyContext(r).CachedSessionCount),
        ("SslContext.Getters", Lifetime, (w, l, r) => { SslContext c = w.AnyContext(r); _ = c.IsDisposed; _ = c.IsServer; _ = c.Id; _ = c.VerifiesPeer; _ = c.ToString(); }),
        ("SslContext.GetCertificatePem", Lifetime, (w, l, r) => _ = Volatile.Read(ref w.Server).GetCertificatePem()),
        // One SSL_SESSION, one cache: a session bound to (or cached by) the other context is refused with
        // SslContextMismatchException, an InvalidOperationException (docs/RELIABILITY.md section 7, finding 2).
        ("SslContext.AddSession", [.. Lifetime, typeof(ArgumentException)], (w, l, r) => { SslSession s = w.AnySession(r); if (!s.IsNone) { _ = w.AnyContext(r).AddSession(s); } }),
        ("SslContext.RemoveSession", [.. Lifetime, typeof(ArgumentException)], (w, l, r) => { SslSession s = w.AnySession(r); if (!s.IsNone) { _ = w.AnyContext(r).RemoveSession(s); } }),
        ("SslContext.SessionEstablished=", Lifetime, (w, l, r) =>
        {
            SslContext c = w.AnyContext(r);
            switch (r.Next(3))
            {
                case 0: c.SessionEstablished = null; break;
                case 1: c.SessionEstablished = w.Cache.OnSessionEstablished; break;
                default: c.SessionEstablished = (_, s) => s.Dispose(); break;
            }
        }),
        ("SslContext.UseTicketKeys", Lifetime, (w, l, r) => Volatile.Read(ref w.Server).UseTicketKeys(Volatile.Read(ref w.Ring))),

        // SslConnection: the engine through a memory pipe, and single engine calls
        ("SslMemoryPipe.Handshake", Engine, (w, l, r) => l.Pipe.Handshake(Volatile.Read(ref w.ClientConnection), Volatile.Read(ref w.ServerConnection))),
        ("SslMemoryPipe.Send", Engine, (w, l, r) => l.Pipe.Send(Volatile.Read(ref w.ClientConnection), Volatile.Read(ref w.ServerConnection), l.Input.AsSpan(0, r.Next(1, 2048)), l.Plain)),
        ("SslMemoryPipe.Shutdown", Engine, (w, l, r) => l.Pipe.Shutdown(Volatile.Read(ref w.ClientConnection), Volatile.Read(ref w.ServerConnection))),
        ("SslConnection.Handshake", Engine, (w, l, r) => w.AnyConnection(r).Handshake(l.Input.AsSpan(0, r.Next(0, 64)), l.Output)),
        ("SslConnection.Read", Engine, (w, l, r) => w.AnyConnection(r).Read(default, l.Plain, l.Output)),
        ("SslConnection.Write", Engine, (w, l, r) => w.AnyConnection(r).Write(l.Input.AsSpan(0, r.Next(1, 512)), l.Output)),
        ("SslConnection.Shutdown", Engine, (w, l, r) => w.AnyConnection(r).Shutdown(l.Output)),
        ("SslConnection.Shutdown(input)", Engine, (w, l, r) => w.AnyConnection(r).Shutdown(default, l.Output)),
        ("SslConnection.DrainOutput", Lifetime, (w, l, r) => w.AnyConnection(r).DrainOutput(l.Output)),
        ("SslConnection.SendSessionTicket", Engine, (w, l, r) => Volatile.Read(ref w.ServerConnection).SendSessionTicket(l.Output)),
        ("SslConnection.QueueSessionTicket", Lifetime, (w, l, r) => Volatile.Read(ref w.ServerConnection).QueueSessionTicket()),
        ("SslConnection.TicketCount", [.. Lifetime, typeof(ArgumentOutOfRangeException)], (w, l, r) =>
        {
            SslConnection c = Volatile.Read(ref w.ServerConnection);
            c.TicketCount = r.Next(0, 4);
            _ = c.TicketCount;
        }),
        ("SslConnection.Reset", Lifetime, (w, l, r) => { SslConnection c = w.AnyConnection(r); c.Reset(c.IsServer ? null : "localhost"); }),
        ("SslConnection.Dispose", Lifetime, (w, l, r) => { if (r.Next(4) == 0) { w.AnyConnection(r).Dispose(); } }),
        ("SslConnection.SetSession", [.. Lifetime, typeof(ArgumentException)], (w, l, r) => { SslSession s = w.AnySession(r); if (!s.IsNone) { Volatile.Read(ref w.ClientConnection).SetSession(s); } }),
        ("SslConnection.Getters", Lifetime, (w, l, r) =>
        {
            SslConnection c = w.AnyConnection(r);
            _ = c.IsDisposed; _ = c.IsHandshakeComplete; _ = c.IsFaulted; _ = c.ServerName; _ = c.CacheKey; _ = c.ToString();
            _ = c.SessionReused; _ = c.Protocol; _ = c.PendingOutput; _ = c.ShutdownSent; _ = c.ShutdownReceived;
            _ = c.DroppedSessionCount; _ = c.GetApplicationProtocol(); _ = c.ResumptionOutcome;
        }),
        ("SslConnection.SecurityGetters", Lifetime, (w, l, r) =>
        {
            SslConnection c = w.AnyConnection(r);
            _ = c.CertificateErrors; _ = c.CertificateVerifyResult; _ = c.ReceivedServerName;
        }),
        ("SslConnection.TryBorrowSession+view", Lifetime, (w, l, r) =>
        {
            if (w.AnyConnection(r).TryBorrowSession(out SslSessionRef v))
            {
                v.GetInfo(out _); _ = v.Id; _ = v.ContextId; _ = v.IsResumable; _ = v.Protocol; _ = v.Time; _ = v.Timeout;
                if (r.Next(4) == 0 && v.IsValid) { w.PutSession(r, v.ToOwned()); }
            }
        }),
        ("SslConnection.TryAcquireSession", Lifetime, (w, l, r) => { if (w.AnyConnection(r).TryAcquireSession(out SslSession s)) { w.PutSession(r, s); } }),
        ("SslConnection.TryTakeNewSession", Lifetime, (w, l, r) => { if (w.AnyConnection(r).TryTakeNewSession(out SslSession s)) { w.PutSession(r, s); } }),
        ("SslConnection.TryBorrowPeerCertificate+view", Lifetime, (w, l, r) =>
        {
            if (w.AnyConnection(r).TryBorrowPeerCertificate(out PeerCertificateRef v)) { _ = v.GetRawData(); _ = v.Subject; }
        }),
        ("SslConnection.TryAcquirePeerCertificate", Lifetime, (w, l, r) =>
        {
            if (w.AnyConnection(r).TryAcquirePeerCertificate(out PeerCertificate owned))
            {
                using (owned) { _ = owned.GetRawData(); _ = owned.Subject; }
            }
        }),
        ("SslConnection.CacheKey=", Lifetime, (w, l, r) => Volatile.Read(ref w.ClientConnection).CacheKey = new SslSessionCacheKey("localhost", 443)),

        // SslSession (copies of one owned handle on several threads)
        ("SslSession.Info", Lifetime, (w, l, r) => { SslSession s = w.AnySession(r); if (!s.IsNone) { _ = s.Info; _ = s.Id; _ = s.ContextId; _ = s.IsResumable; _ = s.Protocol; _ = s.IsDisposed; _ = s.ToString(); } }),
        // A session that is (or may be) in a context's cache is refused (InvalidOperationException): OpenSSL 3.0 relinks it
        // through an owner pointer read without a lock while the engine removes it (finding 2). Copies and client sessions work.
        ("SslSession.SetTime+SetTimeout", Lifetime, (w, l, r) =>
        {
            SslSession s = w.AnySession(r);
            if (s.IsNone) { return; }
            if (r.Next(2) == 0) { s.SetTime(DateTimeOffset.UtcNow.AddSeconds(r.Next(-100_000, 100))); }
            else { s.SetTimeout(TimeSpan.FromSeconds(r.Next(0, 100_000))); }
        }),
        ("SslSession.ToDer", Lifetime, (w, l, r) => { SslSession s = w.AnySession(r); if (!s.IsNone) { _ = s.ToDer(); _ = s.TryWriteDer(l.Output.AsSpan(0, r.Next(0, 4096)), out _); } }),
        ("SslSession.ToPem", Lifetime, (w, l, r) => { SslSession s = w.AnySession(r); if (!s.IsNone) { _ = s.ToPem(); _ = s.ToText(); } }),
        ("SslSession.FromDer", [.. Lifetime, typeof(SslSessionFormatException)], (w, l, r) =>
        {
            SslSession s = w.AnySession(r);
            if (!s.IsNone) { w.PutSession(r, SslSession.FromDer(s.ToDer(), w.AnyContext(r))); }
        }),
        ("SslSession.Duplicate", Lifetime, (w, l, r) => { SslSession s = w.AnySession(r); if (!s.IsNone) { w.PutSession(r, s.Duplicate()); } }),
        ("SslSession.Copy", Lifetime, (w, l, r) => { SslSession s = w.AnySession(r); if (!s.IsNone) { w.PutSession(r, s.Copy()); } }),
        ("SslSession.RebindTo", Lifetime, (w, l, r) => { SslSession s = w.AnySession(r); if (!s.IsNone) { w.PutSession(r, s.RebindTo(w.AnyContext(r))); } }),
        ("SslSession.Dispose", Lifetime, (w, l, r) => { if (r.Next(3) == 0) { w.AnySession(r).Dispose(); } }),

        // SslClientSessionCache
        ("SslClientSessionCache.Add", [.. Lifetime, typeof(ArgumentException)], (w, l, r) =>
        {
            SslSession s = w.AnySession(r);
            if (!s.IsNone) { Volatile.Read(ref w.Cache).Add(new SslSessionCacheKey("localhost", 443), r.Next(2) == 0 ? s : s.Duplicate()); }
        }),
        ("SslClientSessionCache.TryTake", Lifetime, (w, l, r) => { if (Volatile.Read(ref w.Cache).TryTake(new SslSessionCacheKey("localhost", 443), out SslSession s)) { w.PutSession(r, s); } }),
        ("SslClientSessionCache.TryTakeFor", [.. Lifetime, typeof(ArgumentException)], (w, l, r) =>
        {
            if (Volatile.Read(ref w.Cache).TryTakeFor(Volatile.Read(ref w.ClientConnection), out SslSession s)) { w.PutSession(r, s); }
        }),
        ("SslClientSessionCache.OnSessionEstablished", [.. Lifetime, typeof(ArgumentException)], (w, l, r) =>
        {
            SslSession s = w.AnySession(r);
            if (!s.IsNone) { Volatile.Read(ref w.Cache).OnSessionEstablished(Volatile.Read(ref w.ClientConnection), s.Duplicate()); }
        }),
        ("SslClientSessionCache.RemoveExpired+Count", Lifetime, (w, l, r) => { SslClientSessionCache c = Volatile.Read(ref w.Cache); c.RemoveExpired(); _ = c.Count; _ = c.Statistics; }),
        ("SslClientSessionCache.Dispose", Lifetime, (w, l, r) => { if (r.Next(8) == 0) { World.Replace(ref w.Cache, new SslClientSessionCache(capacity: 16, perKey: 2)); } }),

        // TicketKeyRing
        ("TicketKeyRing.Install", [.. Lifetime, typeof(ArgumentException)], (w, l, r) =>
        {
            using TicketKey a = TicketKey.Generate(), b = TicketKey.Generate();
            Volatile.Read(ref w.Ring).Install(r.Next(2) == 0 ? [a] : [a, b]);
        }),
        ("TicketKeyRing.Getters", Lifetime, (w, l, r) =>
        {
            TicketKeyRing ring = Volatile.Read(ref w.Ring);
            _ = ring.KeyCount; _ = ring.EncryptingKeyName; _ = ring.InstallCount; _ = ring.Counts; _ = ring.ToString();
        }),
        ("TicketKeyRing.Dispose", Lifetime, (w, l, r) => { if (r.Next(8) == 0) { World.Replace(ref w.Ring, new TicketKeyRing()); } }),
    ];
}
