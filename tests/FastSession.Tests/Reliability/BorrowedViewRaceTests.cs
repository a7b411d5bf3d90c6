using System;
using System.Threading;
using FastSession.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Issue #10 items 1-3: borrowed views and owned sessions read on one thread while another drives the same objects
/// through their whole lifetime. Before the reader lease these ended in SIGSEGV (Release shim) or a
/// heap-use-after-free report (ASan shim) within 1-3 s: the epoch was checked, then the native read ran with nothing
/// holding the session or certificate. Now an accessor either reads a live object or throws a documented exception,
/// and the owner never fails because of a reader.
/// </summary>
public sealed class BorrowedViewRaceTests : LiveObjectTest
{
    private readonly ITestOutputHelper _output;

    public BorrowedViewRaceTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void SessionViewReaders_RacingHandshakeShutdownResetAndDispose_ReadLiveSessionsOrThrowDocumented(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        var pipe = new SslMemoryPipe();
        SslConnection? current = null;

        Race.Result result = Race.Run(
            ownerRound: () => LifetimeRound(client, server, pipe, c => Volatile.Write(ref current, c)),
            read: () =>
            {
                SslConnection? c = Volatile.Read(ref current);
                if (c is not null && c.TryBorrowSession(out SslSessionRef session))
                {
                    session.GetInfo(out SslSessionInfo info);
                    _ = session.Id;
                    _ = session.ContextId;
                    _ = session.IsResumable;
                    _ = session.Protocol;
                    if (info.IsResumable && session.IsValid)
                    {
                        session.ToOwned().Dispose();
                    }
                }
            },
            readers: 2);

        Report(result);
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void PeerCertificateReaders_RacingHandshakeShutdownResetAndDispose_ReadLiveCertificatesOrThrowDocumented(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        var pipe = new SslMemoryPipe();
        SslConnection? current = null;

        Race.Result result = Race.Run(
            ownerRound: () => LifetimeRound(client, server, pipe, c => Volatile.Write(ref current, c)),
            read: () =>
            {
                SslConnection? c = Volatile.Read(ref current);
                if (c is not null && c.TryBorrowPeerCertificate(out PeerCertificateRef certificate))
                {
                    Assert.NotEmpty(certificate.GetRawData());
                    Assert.Contains("localhost", certificate.Subject, StringComparison.Ordinal);
                    if (c.TryAcquirePeerCertificate(out PeerCertificate owned))
                    {
                        owned.Dispose();
                    }
                }
                if (c is not null)
                {
                    _ = c.SessionReused;
                    _ = c.Protocol;
                    _ = c.PendingOutput;
                    _ = c.ShutdownReceived;
                    _ = c.GetApplicationProtocol();
                }
            },
            readers: 2);

        Report(result);
    }

    /// <summary>
    /// A view borrowed on the reader thread while the owner disposes: it must not start out "valid" over a pointer
    /// being freed. The owner disposes right after publishing, so most borrows overlap Dispose.
    /// </summary>
    [Fact]
    public void ViewsBorrowedWhileDisposeRuns_NeverReadTheFreedSession()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        var pipe = new SslMemoryPipe();
        SslConnection? current = null;

        Race.Result result = Race.Run(
            ownerRound: () =>
            {
                SslConnection c = client.CreateConnection("localhost");
                using SslConnection s = server.CreateConnection();
                pipe.Handshake(c, s);
                Volatile.Write(ref current, c);
                Thread.SpinWait(50);
                c.Dispose();
            },
            read: () =>
            {
                SslConnection? c = Volatile.Read(ref current);
                if (c is not null && c.TryBorrowSession(out SslSessionRef session))
                {
                    _ = session.Id;
                    session.GetInfo(out _);
                }
            });

        Report(result);
    }

    /// <summary>
    /// The driver thread's fast path (plain stores, no atomic): the reader thread makes itself the driver with an
    /// exclusive call (<see cref="SslConnection.DrainOutput"/>), reads often enough to arm the fast path, and the
    /// owner's engine calls, Reset and Dispose from the other thread must then take the process-wide barrier and
    /// wait it out. Both sides may be refused with InvalidOperationException (the connection is busy on the other
    /// thread); neither may read freed memory.
    /// </summary>
    [Fact]
    public void DriverThreadFastReads_RacingExclusiveCallsFromAnotherThread_NeverReadFreedMemory()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        var pipe = new SslMemoryPipe();
        SslConnection? current = null;
        long ownerRefusals = 0;

        Race.Result result = Race.Run(
            ownerRound: () =>
            {
                SslConnection c = client.CreateConnection("localhost");
                using (SslConnection s = server.CreateConnection())
                {
                    Volatile.Write(ref current, c);
                    try
                    {
                        pipe.Handshake(c, s);
                        c.Reset("localhost");
                        s.Reset();
                        pipe.Handshake(c, s);
                    }
                    catch (InvalidOperationException)
                    {
                        ownerRefusals++; // the reader held the connection for its DrainOutput
                    }
                }
                while (true)
                {
                    try
                    {
                        c.Dispose();
                        break;
                    }
                    catch (InvalidOperationException)
                    {
                        ownerRefusals++;
                    }
                }
            },
            read: () =>
            {
                SslConnection? c = Volatile.Read(ref current);
                if (c is null)
                {
                    return;
                }
                c.DrainOutput(default); // an exclusive call: this thread becomes the driver
                for (int i = 0; i < 32; i++)
                {
                    if (c.TryBorrowSession(out SslSessionRef session))
                    {
                        session.GetInfo(out _);
                        _ = session.Id;
                    }
                    _ = c.SessionReused;
                }
            });

        _output.WriteLine($"owner refused {ownerRefusals} times");
        Report(result);
    }

    /// <summary>
    /// Item 3: <c>SSL_SESSION_set_time</c> follows the session's owner pointer to the server context whose cache
    /// holds it. Disposing that context on another thread used to free it under the call (SIGSEGV in OpenSSL). Since
    /// the last finding of issue #10 the shim never lets set_time reach a session that is (or may be) cached: the calls
    /// are refused (<see cref="InvalidOperationException"/>), racing the dispose all the same.
    /// </summary>
    [Fact]
    public void SessionSetTime_RacingDisposeOfTheContextWhoseCacheHoldsIt_NeverTouchesAFreedContext()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls12, tickets: false);
        var pipe = new SslMemoryPipe();
        long calls = 0, unexpected = 0;
        Race.Result result = Race.Run(
            ownerRound: () =>
            {
                // Session ids, no tickets: the server's session sits in its context's internal cache (owner set).
                SslContext server = Tls.Server(TlsVersion.Tls12, tickets: false);
                SslSession session;
                using (SslConnection c = client.CreateConnection("localhost"))
                using (SslConnection s = server.CreateConnection())
                {
                    pipe.Handshake(c, s);
                    pipe.Shutdown(c, s);
                    Assert.True(s.TryAcquireSession(out session));
                }
                using (session)
                {
                    using var go = new Barrier(2);
                    var setter = new Thread(() =>
                    {
                        go.SignalAndWait();
                        for (int i = 0; i < 64; i++)
                        {
                            try
                            {
                                session.SetTime(DateTimeOffset.UtcNow);
                                Interlocked.Increment(ref unexpected);
                            }
                            catch (InvalidOperationException)
                            {
                            }
                            try
                            {
                                session.SetTimeout(TimeSpan.FromMinutes(5));
                                Interlocked.Increment(ref unexpected);
                            }
                            catch (InvalidOperationException)
                            {
                            }
                            Interlocked.Increment(ref calls);
                        }
                    });
                    setter.Start();
                    go.SignalAndWait();
                    Thread.SpinWait(Random.Shared.Next(0, 2000));
                    server.Dispose();
                    setter.Join();
                }
            },
            read: () => Thread.Sleep(1));

        _output.WriteLine($"{calls} SetTime+SetTimeout pairs");
        Assert.Equal(0, Interlocked.Read(ref unexpected)); // a cached server session is never re-timed in place
        Report(result);
    }

    // One connection's whole life, published to readers throughout: handshake, shutdown, Reset, a second
    // handshake on the reused object, dispose.
    private static void LifetimeRound(SslContext client, SslContext server, SslMemoryPipe pipe, Action<SslConnection?> publish)
    {
        SslConnection c = client.CreateConnection("localhost");
        try
        {
            using SslConnection s = server.CreateConnection();
            publish(c);
            pipe.Handshake(c, s);
            pipe.Shutdown(c, s);
            c.Reset("localhost");
            s.Reset();
            pipe.Handshake(c, s);
            while (c.TryTakeNewSession(out SslSession taken))
            {
                taken.Dispose();
            }
        }
        finally
        {
            c.Dispose();
        }
    }

    private void Report(Race.Result result)
    {
        _output.WriteLine(result.ToString());
        foreach (string error in result.Errors)
        {
            _output.WriteLine(error);
        }
        Assert.True(result.Errors.IsEmpty, string.Join("\n", result.Errors));
        Assert.True(result.OwnerRounds > 0);
    }
}
