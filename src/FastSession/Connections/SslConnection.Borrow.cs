using System.Threading;
using FastSession.Interop;

namespace FastSession;

// Lease-free borrowing of the current session (TryBorrowSession's fast path), measured in bench/RESULTS.md
// ("Generator fast paths, issue 13").
//
// Only an exclusive call that may change SSL's session (Access.ChangesSession: engine calls, SetSession, Reset,
// Dispose) can change what SSL_get0_session returns, and each of those bumps the epoch on entry and on exit
// (SslConnection.Gate.cs), so the epoch is odd while no such call runs and even while one does. Before its exit
// bump, still holding the connection, the call publishes the session pointer (_publishedSession). A borrower
// reads epoch, pointer, epoch (a seqlock): the same odd epoch twice means the pointer is the one SSL held during
// that epoch. Nothing native is read here, so no lease is needed; the view's accessors still take the reader
// lease and check the epoch inside it (the safety rule: generators/FastSession.Generators/README.md), so a view
// whose epoch has moved on throws and never dereferences the pointer. Anything else (an even or changing epoch,
// nothing published yet, a disposed connection) takes the leased path, which keeps its behaviour (busy,
// ObjectDisposedException, NULL).
public sealed partial class SslConnection
{
    private nint _publishedSession; // SSL_get0_session at the end of the last session-changing exclusive call; 0 if none

    // Called by ExclusiveScope.Dispose while the connection is still held exclusively, before the exit bump.
    private void PublishBorrowedSession()
    {
        nint ssl = _ssl;
        Volatile.Write(ref _publishedSession, ssl != 0 ? SessionNative.SslGet0SessionPointer(ssl) : 0);
    }

    private bool TryBorrowPublishedSession(out SslSessionRef session)
    {
        ulong epoch = Volatile.Read(ref _epoch);
        nint pointer = Volatile.Read(ref _publishedSession);
        if ((epoch & 1) != 0 && pointer != 0 && Volatile.Read(ref _epoch) == epoch)
        {
            session = new SslSessionRef(this, pointer, epoch);
            return true;
        }
        session = default;
        return false;
    }
}
