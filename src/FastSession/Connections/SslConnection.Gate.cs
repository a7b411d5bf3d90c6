using System;
using System.Threading;

namespace FastSession;

// The connection's one gate, and the rule that keeps borrowed views memory-safe (issue #10).
//
// State: one int, (readers << 1) | exclusiveBit; the managed thread id of the exclusive holder; the
// "driver" thread (the last exclusive holder) and its reading flag.
// - Exclusive access (engine calls, SetSession, Reset, Dispose, taking waiting sessions, draining output):
//   compare-exchange the bit on; a second exclusive caller on another thread fails at once with
//   InvalidOperationException (a connection is driven by one thread at a time, like SslStream). The holder
//   then waits out the readers already inside (each is one native call that never blocks nor runs
//   managed code, so the wait is bounded), bumps the epoch when the call may change or free SSL's
//   session, runs, bumps again and clears the bit.
// - Reader lease (getters, get0/get1, and every borrowed-view access, generated or hand-written). While a
//   lease is held no exclusive holder can run, so nothing can free the SSL, its session or its peer
//   certificate: a view checks its epoch inside the lease, then reads. Two ways to hold one:
//   * the driver thread (nearly always the only reader) stores its reading flag, then checks the bit and
//     that it is still the driver: plain volatile accesses, no atomic instruction (an uncontended
//     locked (LOCK ADD) add costs ~16 ns on the benchmark machine, more than the native read). This is the
//     asymmetric Dekker pattern: an exclusive caller that is not the driver pays instead, with a
//     process-wide memory barrier (Interlocked.MemoryBarrierProcessWide, membarrier on Linux) after
//     setting the bit, then waits for the flag to clear and becomes the driver. After the barrier either
//     it sees the reader's flag, or the reader sees its bit. The driver's own exclusive calls need no
//     barrier: the driver cannot be reading while it makes one. The fast path is armed (one locked
//     exchange) only after the driver's first few reads, and the barrier is paid only while it is armed:
//     a connection driven from hopping thread-pool threads with an occasional getter between engine
//     calls (FastSslStream) keeps the atomic lease and never pays a barrier.
//   * any other thread adds 2 atomically; if the bit is set, it takes them back and throws.
//   The thread that holds the bit (a SessionEstablished handler running inside an engine call) reads
//   without a lease: OpenSSL is not running at that point, and any exclusive call it attempts fails.
// The JIT keeps volatile accesses in program order; the hardware's store-load reordering is what the
// process-wide barrier covers.
//
// Lock order: a connection's gate first, then (inside the native call) the SSL_CTX's locks and the
// shim's session-owner guard (native-shim/src/session.c). Nothing here ever waits for another
// connection's gate or for an SslContext lease while holding this one, and readers never wait.
public sealed partial class SslConnection
{
    private const int ExclusiveBit = 1;
    private const int OneReader = 2;

    private int _gate;
    private int _exclusiveThread; // managed thread id holding ExclusiveBit, 0 when free
    private int _driverThread = ThreadIdentity.Current; // the last exclusive holder
    private bool _driverReading; // the driver's reader lease (plain stores, see the top of this file)
    // Set (atomically) once the driver has read often enough to use the fast path; only then do exclusive
    // calls from other threads pay the process-wide barrier. A connection driven from hopping threads
    // (async I/O) with an occasional getter between calls never arms, so it never pays the barrier.
    private int _driverFastArmed;
    private int _driverAtomicReads; // written by the driver thread only
    private const int ReadsBeforeFastPath = 8;

    [Flags]
    private enum Access
    {
        // Exclusive, re-entrant for the holding thread (a handler may take it inside an engine call):
        // the SSL's session is left alone (draining output, taking captured sessions, asking for a ticket).
        Exclusive = 0,
        // The call may change or free SSL's session or peer certificate: views borrowed before are
        // stale. Never re-entrant: a handler cannot drive, reset or free its own connection.
        ChangesSession = 1,
        // Allowed on a faulted connection (Reset, Dispose).
        WhenFaulted = 2,
        // Allowed on a disposed connection (Dispose is idempotent).
        WhenDisposed = 4,
    }

    // What EnterReader returns and ExitReader takes back: which lease was taken, so that releasing it
    // needs no second look at the thread (a thread-static read on every exit).
    private const int NoLease = 0, DriverLease = 1, AtomicLease = 2;

    /// <summary>Takes a reader lease (see the comment at the top of this file).</summary>
    /// <returns>The lease to pass to <see cref="ExitReader"/>: none on the exclusive holder's own thread, the driver's flag, or a reader count.</returns>
    /// <exception cref="InvalidOperationException">Another thread holds the connection exclusively.</exception>
    internal int EnterReader()
    {
        int thread = ThreadIdentity.Current;
        if (thread == Volatile.Read(ref _driverThread) && (Volatile.Read(ref _driverFastArmed) != 0 || ArmFastPath()))
        {
            Volatile.Write(ref _driverReading, true);
            if ((Volatile.Read(ref _gate) & ExclusiveBit) == 0 && Volatile.Read(ref _driverThread) == thread)
            {
                return DriverLease;
            }
            Volatile.Write(ref _driverReading, false);
        }
        else if ((Interlocked.Add(ref _gate, OneReader) & ExclusiveBit) == 0)
        {
            return AtomicLease;
        }
        else
        {
            Interlocked.Add(ref _gate, -OneReader);
        }
        if ((Volatile.Read(ref _gate) & ExclusiveBit) != 0 && Volatile.Read(ref _exclusiveThread) == thread)
        {
            return NoLease; // inside this thread's own exclusive call (a SessionEstablished handler)
        }
        // Another thread holds the bit, or the driver changed between the checks: an atomic lease or busy.
        if ((Interlocked.Add(ref _gate, OneReader) & ExclusiveBit) != 0)
        {
            Interlocked.Add(ref _gate, -OneReader);
            ThrowBusy();
        }
        return AtomicLease;
    }

    // The driver's first reads take the atomic path; after a few it arms the fast path with a locked
    // instruction, so a later exclusive caller's locked compare-exchange either precedes it (and the
    // reader then sees the bit) or sees it armed (and pays the barrier).
    private bool ArmFastPath()
    {
        if (++_driverAtomicReads < ReadsBeforeFastPath)
        {
            return false;
        }
        Interlocked.Exchange(ref _driverFastArmed, 1);
        return true;
    }

    /// <summary>Releases a lease taken by <see cref="EnterReader"/>.</summary>
    internal void ExitReader(int lease)
    {
        if (lease == DriverLease)
        {
            Volatile.Write(ref _driverReading, false);
        }
        else if (lease == AtomicLease)
        {
            Interlocked.Add(ref _gate, -OneReader);
        }
    }

    // A reader lease as a stack-only scope: `using ReaderScope _ = Reader();`.
    private readonly ref struct ReaderScope
    {
        private readonly SslConnection _connection;
        private readonly int _lease;

        internal ReaderScope(SslConnection connection)
        {
            _lease = connection.EnterReader();
            _connection = connection;
        }

        public void Dispose() => _connection.ExitReader(_lease);
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
                // The epoch is even from here to Dispose: TryBorrowPublishedSession falls back (SslConnection.Borrow.cs).
                Volatile.Write(ref connection._epoch, connection._epoch + 1);
            }
        }

        public void Dispose()
        {
            if (_changesSession)
            {
                // Still exclusive: publish the session pointer for lease-free borrowing, then the (odd) epoch it belongs to.
                _connection.PublishBorrowedSession();
                Volatile.Write(ref _connection._epoch, _connection._epoch + 1);
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
        int thread = ThreadIdentity.Current;
        int state = Volatile.Read(ref _gate);
        while (true)
        {
            if ((state & ExclusiveBit) != 0)
            {
                if ((access & (Access.ChangesSession | Access.WhenDisposed)) == 0 && Volatile.Read(ref _exclusiveThread) == thread)
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
        // The bit is ours: new readers fail against it; wait out those already inside. Yield rather than
        // Sleep(1): a reader is one short native call, usually just preempted.
        SpinWait spin = default;
        if (thread != _driverThread)
        {
            if (Volatile.Read(ref _driverFastArmed) != 0)
            {
                // The driver reads with plain stores: make its flag visible (or make it see our bit), wait for it.
                Interlocked.MemoryBarrierProcessWide();
                while (Volatile.Read(ref _driverReading))
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                Volatile.Write(ref _driverFastArmed, 0);
            }
            // Take over as the driver; it arms the fast path again once it reads often enough.
            _driverAtomicReads = 0;
            Volatile.Write(ref _driverThread, thread);
        }
        while (Volatile.Read(ref _gate) != ExclusiveBit)
        {
            spin.SpinOnce(sleep1Threshold: -1);
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
