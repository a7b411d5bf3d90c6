using System;
using System.Runtime.InteropServices;
using System.Threading;
using FastSession.Interop;

namespace FastSession.Benchmarks.Interop;

// The bindings the benchmarks compare FastSession against. Two kinds:
//  - FastSession-style imports over raw pointers ([ShimLibrary]/[ShimImport], written by the FastSession
//    generator exactly as for the library), i.e. the floor a binding can reach without views, epochs or pools;
//  - deliberately naive bindings as a typical wrapper writes them: plain [DllImport] (a GC transition on every
//    call), SafeHandle for ownership, one P/Invoke per field.

/// <summary>FastSession-style trivial imports over raw pointers: generated, blittable, <c>[SuppressGCTransition]</c> where allowed.</summary>
[ShimLibrary("fastsession_shim")]
internal static unsafe partial class PointerNative
{
    [ShimImport("FastSessionNative_SslGet0Session", Trivial = true)]
    internal static partial nint SslGet0Session(nint ssl);

    [ShimImport("FastSessionNative_SslSessionIsResumable", Trivial = true)]
    internal static partial int SslSessionIsResumable(nint session);

    // get1 and free take OpenSSL's locks: never trivial (FSG0006).
    [ShimImport("FastSessionNative_SslGet1Session")]
    internal static partial nint SslGet1Session(nint ssl);

    [ShimImport("FastSessionNative_SslSessionFree")]
    internal static partial void SslSessionFree(nint session);
}

/// <summary>Plain <c>[DllImport]</c>s of the shim over <see cref="IntPtr"/>: what a hand-written binding starts with.</summary>
internal static unsafe class RawNative
{
    private const string Shim = "fastsession_shim";

    [DllImport(Shim, EntryPoint = "FastSessionNative_SslGet0Session", ExactSpelling = true)]
    internal static extern IntPtr SslGet0Session(IntPtr ssl);

    [DllImport(Shim, EntryPoint = "FastSessionNative_SslGet1Session", ExactSpelling = true)]
    internal static extern IntPtr SslGet1Session(IntPtr ssl);

    [DllImport(Shim, EntryPoint = "FastSessionNative_SslSessionFree", ExactSpelling = true)]
    internal static extern void SslSessionFree(IntPtr session);

    [DllImport(Shim, EntryPoint = "FastSessionNative_SslSessionIsResumable", ExactSpelling = true)]
    internal static extern int SslSessionIsResumable(IntPtr session);

    [DllImport(Shim, EntryPoint = "FastSessionNative_SslSessionGetContextId", ExactSpelling = true)]
    internal static extern ulong SslSessionGetContextId(IntPtr session);
}

/// <summary>Plain <c>[DllImport]</c>s of libssl's per-field getters: one transition per field.</summary>
internal static unsafe class LibSslNative
{
    private const string Ssl = "libssl.so.3";

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern byte* SSL_SESSION_get_id(IntPtr session, uint* length);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern int SSL_SESSION_get_protocol_version(IntPtr session);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern int SSL_SESSION_is_resumable(IntPtr session);

    // C long on LP64 Linux.
    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern long SSL_SESSION_get_time(IntPtr session);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern long SSL_SESSION_get_timeout(IntPtr session);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern nuint SSL_SESSION_get_ticket_lifetime_hint(IntPtr session);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern int SSL_SESSION_has_ticket(IntPtr session);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern uint SSL_SESSION_get_max_early_data(IntPtr session);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern IntPtr SSL_SESSION_get0_cipher(IntPtr session);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern uint SSL_CIPHER_get_protocol_id(IntPtr cipher);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern byte* SSL_CIPHER_get_name(IntPtr cipher);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern byte* SSL_SESSION_get0_hostname(IntPtr session);

    [DllImport(Ssl, ExactSpelling = true)]
    internal static extern void SSL_SESSION_get0_alpn_selected(IntPtr session, byte** alpn, nuint* length);
}

/// <summary>A non-owning SafeHandle over a connection's <c>SSL*</c>, as dotnet/runtime's SafeSslHandle passes it.</summary>
internal sealed class SafeSslHandle : SafeHandle
{
    public SafeSslHandle(IntPtr ssl) : base(IntPtr.Zero, ownsHandle: false) => SetHandle(ssl);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => true;
}

/// <summary>The typical owning wrapper of an <c>SSL_SESSION*</c>: a SafeHandle whose release is <c>SSL_SESSION_free</c>.</summary>
internal sealed class SafeSslSessionHandle : SafeHandle
{
    public SafeSslSessionHandle() : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        RawNative.SslSessionFree(handle);
        return true;
    }
}

/// <summary><c>[DllImport]</c>s that marshal SafeHandles (AddRef/Release around every call, an allocation per returned handle).</summary>
internal static class SafeHandleNative
{
    private const string Shim = "fastsession_shim";

    [DllImport(Shim, EntryPoint = "FastSessionNative_SslGet1Session", ExactSpelling = true)]
    internal static extern SafeSslSessionHandle SslGet1Session(SafeSslHandle ssl);

    [DllImport(Shim, EntryPoint = "FastSessionNative_SslSessionIsResumable", ExactSpelling = true)]
    internal static extern int SslSessionIsResumable(SafeSslSessionHandle session);
}

/// <summary>
/// An owned session as a class: one object (with a finalizer) per acquire, freed by <see cref="Dispose"/>.
/// What FastSession's pooled <see cref="SslSession"/> struct replaces.
/// </summary>
internal sealed class ClassOwnedSession : IDisposable
{
    private IntPtr _session;

    private ClassOwnedSession(IntPtr session) => _session = session;

    ~ClassOwnedSession() => Free();

    /// <summary>SSL_get1_session; null when the connection has no session.</summary>
    public static ClassOwnedSession? Acquire(IntPtr ssl)
    {
        IntPtr session = PointerNative.SslGet1Session(ssl);
        return session == IntPtr.Zero ? null : new ClassOwnedSession(session);
    }

    public bool IsResumable
    {
        get
        {
            IntPtr session = Volatile.Read(ref _session);
            ObjectDisposedException.ThrowIf(session == IntPtr.Zero, this);
            bool resumable = PointerNative.SslSessionIsResumable(session) != 0;
            GC.KeepAlive(this);
            return resumable;
        }
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        IntPtr session = Interlocked.Exchange(ref _session, IntPtr.Zero);
        if (session != IntPtr.Zero)
        {
            PointerNative.SslSessionFree(session);
        }
    }
}
