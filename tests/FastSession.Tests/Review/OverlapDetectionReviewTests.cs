using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Review;

/// <summary>
/// Review finding: SslConnection guards engine calls, Reset, SetSession and Dispose with the _busy flag, but not the
/// session/certificate accessors (TryAcquireSession, TryBorrowSession and the views' reads, TryTakeNewSession,
/// TryAcquirePeerCertificate, DrainOutput, PendingOutput, SessionReused …). Those run unguarded next to an engine call on
/// another thread — the normal shape of FastSslStream use (a read loop on one task, Connection.TryAcquireSession on
/// another). During SSL_read a TLS 1.3 NewSessionTicket frees s->session without ssl->lock while SSL_get1_session
/// up-refs it, and the new-session callback mutates the ring TakeNewSessions drains: use-after-free / double free
/// instead of the InvalidOperationException the overlap gate gives Dispose. Likewise, they race Dispose (NativeHandle is
/// read, then SSL_free runs on the other thread).
/// Here the engine call is held open deterministically by a SessionEstablished handler (it runs inside Read, with the
/// gate taken); another thread then calls into the connection.
/// </summary>
public sealed class OverlapDetectionReviewTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Fact]
    public void SessionAccessors_DuringAnEngineCallOnAnotherThread_AreDetectedLikeDispose()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 1);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        Exception? disposeOutcome = null;
        Exception? acquireOutcome = null;
        bool acquired = false;
        client.SessionEstablished = (connection, session) =>
        {
            session.Dispose();
            // Another thread, while this connection's Read is still running (a dedicated thread: Task.Run(...).Wait()
            // may inline the task on this very thread, where reading the connection inside its handler is allowed).
            RunOnAnotherThread(() =>
            {
                disposeOutcome = Record.Exception(connection.Dispose);
                acquireOutcome = Record.Exception(() =>
                {
                    acquired = connection.TryAcquireSession(out SslSession other);
                    other.Dispose();
                });
            });
        };
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();

        _pipe.Handshake(c, s); // the ticket arrives in the pipe's final client Read

        Assert.IsType<InvalidOperationException>(disposeOutcome); // the gate works for Dispose …
        Assert.True(acquireOutcome is InvalidOperationException,  // … but not for the session accessors
            $"TryAcquireSession ran inside another thread's engine call (returned {acquired}, threw {acquireOutcome?.GetType().Name ?? "nothing"})");
        _pipe.Shutdown(c, s);
    }

    private static void RunOnAnotherThread(Action action)
    {
        var thread = new System.Threading.Thread(() => action());
        thread.Start();
        thread.Join();
    }
}
