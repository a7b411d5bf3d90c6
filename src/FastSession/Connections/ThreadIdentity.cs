using System;
using System.Runtime.CompilerServices;

namespace FastSession;

// The current thread's managed id, cached in a thread-static of our own: Environment.CurrentManagedThreadId goes
// through Thread.CurrentThread on every read (~4 ns on the benchmark machine), this field is one inlined TLS
// access (~2 ns), and the reader lease reads it on every borrowed-view access (SslConnection.Gate.cs,
// bench/RESULTS.md "Generator fast paths, issue 13"). A class of its own, without a static constructor, so the
// JIT emits no class-initialization check in front of the access.
internal static class ThreadIdentity
{
    [ThreadStatic]
    private static int t_id;

    internal static int Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            int id = t_id;
            return id != 0 ? id : Initialize();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Initialize() => t_id = Environment.CurrentManagedThreadId;
}
