using System;
using System.Threading;

namespace FastSession;

// The connection's one gate, and the rule that keeps borrowed views memory-safe.
//
// State: one int, (readers << 1) | exclusiveBit, and the managed thread id of the exclusive holder.
// - Exclusive access (engine calls, SetSession, Reset, Dispose, taking waiting sessions, draining output):
//   compare-exchange the bit on; a second exclusive caller on another thread fails at once with
//   InvalidOperationException (a connection is used by one thread at a time, like SslStream). The holder
//   then waits out the readers already inside (each is one native call that never blocks nor runs
//   managed code, so the wait is bounded), bumps the epoch when the call may change or free SSL's
//   session, runs, bumps again and clears the bit.
// - Reader lease (getters, get0/get1, and every borrowed-view access, generated or hand-written):
//   add 2 atomically; if the bit is set by another thread, take it back and throw. While a lease is
//   held no exclusive holder can run, so nothing can free the SSL, its session or its peer
//   certificate: a view checks its epoch inside the lease, then reads. The thread that holds the bit
//   (a SessionEstablished handler running inside an engine call) reads without a lease: OpenSSL is
//   not running at that point, and any exclusive call it attempts fails.
//
// Lock order: a connection's gate first, then (inside the native call) the SSL_CTX's locks and the
// shim's session-owner guard (native-shim/src/session.c). Nothing here ever waits for another
// connection's gate or for an SslContext lease while holding this one, and readers never wait.
public sealed unsafe partial class SslConnection
{
    private const int ExclusiveBit = 1;
    private const int OneReader = 2;

    private int _gate;
    private int _exclusiveThread; // managed thread id holding ExclusiveBit, 0 when free

    [Flags]
    private enum Access
    {
        // Exclusive, re-entrant for the holding thread (a handler may take it inside an engine call):
        // the SSL's session is left alone (draining output, taking captured sessions).
        Exclusive = 0,
        // The call may change or free SSL's session or peer certificate: views borrowed before are
        // stale. Never re-entrant: a handler cannot drive, reset or free its own connection.
        ChangesSession = 1,
        // Allowed on a faulted connection (Reset, Dispose).
        WhenFaulted = 2,
        // Allowed on a disposed connection (Dispose is idempotent).
        WhenDisposed = 4,
    }

    /// <summary>Takes a reader lease (see the comment at the top of this file).</summary>
    /// <returns>Whether the caller must call <see cref="ExitReader"/>; false for the exclusive holder's own thread.</returns>
    /// <exception cref="InvalidOperationException">Another thread holds the connection exclusively.</exception>
    internal bool EnterReader()
    {
        if ((Volatile.Read(ref _gate) & ExclusiveBit) != 0 && Volatile.Read(ref _exclusiveThread) == Environment.CurrentManagedThreadId)
        {
            return false;
        }
        if ((Interlocked.Add(ref _gate, OneReader) & ExclusiveBit) != 0)
        {
            Interlocked.Add(ref _gate, -OneReader);
            ThrowBusy();
        }
        return true;
    }

    /// <summary>Releases a lease taken by <see cref="EnterReader"/> when it returned true.</summary>
    internal void ExitReader(bool entered)
    {
        if (entered)
        {
            Interlocked.Add(ref _gate, -OneReader);
        }
    }

    // A reader lease as a stack-only scope: `using ReaderScope _ = Reader();`.
    private readonly ref struct ReaderScope
    {
        private readonly SslConnection _connection;
        private readonly bool _entered;

        internal ReaderScope(SslConnection connection)
        {
            _entered = connection.EnterReader();
            _connection = connection;
        }

        public void Dispose() => _connection.ExitReader(_entered);
    }

    // Exclusive access as a stack-only scope owning "enter, bump the epoch, exit".
    private readonly ref struct ExclusiveScope
    {
        private readonly SslConnection _connection;
        private readonly bool _entered;
        private readonly bool _changesSession;

        internal ExclusiveScope(SslConnection connection, Access access)
        {
            _connection = connection;
            _changesSession = (access & Access.ChangesSession) != 0;
            _entered = connection.EnterExclusive(access);
            if (_changesSession)
            {
                // Before the call too: a same-thread view borrowed earlier in a handler is stale from here on.
                connection._epoch++;
            }
        }

        public void Dispose()
        {
            if (_changesSession)
            {
                _connection._epoch++;
            }
            if (_entered)
            {
                _connection.ExitExclusive();
            }
        }
    }

    private ReaderScope Reader() => new(this);

    private ExclusiveScope Exclusive(Access access) => new(this, access);

    // Returns whether the caller must exit: false when nested on the holder's own thread.
    private bool EnterExclusive(Access access)
    {
        int thread = Environment.CurrentManagedThreadId;
        int state = Volatile.Read(ref _gate);
        while (true)
        {
            if ((state & ExclusiveBit) != 0)
            {
                if (access == Access.Exclusive && Volatile.Read(ref _exclusiveThread) == thread)
                {
                    return false;
                }
                ThrowBusy();
            }
            int seen = Interlocked.CompareExchange(ref _gate, state | ExclusiveBit, state);
            if (seen == state)
            {
                break;
            }
            state = seen;
        }
        if (state != 0)
        {
            // The bit is ours: new readers fail against it; wait out those already inside.
            SpinWait spin = default;
            while (Volatile.Read(ref _gate) != ExclusiveBit)
            {
                // Yield rather than Sleep(1): a reader is one short native call, usually just preempted.
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        _exclusiveThread = thread;
        if ((access & Access.WhenDisposed) == 0 && _ssl == 0)
        {
            ExitExclusive();
            ThrowDisposed();
        }
        if ((access & Access.WhenFaulted) == 0 && _fault is not null)
        {
            ExitExclusive();
            throw new InvalidOperationException($"The connection failed earlier ({_fault}); Reset() or Dispose() it.");
        }
        return true;
    }

    private void ExitExclusive()
    {
        _exclusiveThread = 0;
        Interlocked.And(ref _gate, ~ExclusiveBit);
    }

    private static void ThrowBusy() =>
        throw new InvalidOperationException("Another call on this SslConnection is running on another thread; a connection is used by one thread at a time.");
}
