using System;

namespace FastSession.Interop;

// Declared for the FastSession generator (generators/FastSession.Generators/README.md), which writes the
// blittable DllImports and the wrapper bodies (leases, pins, UTF-8). Trivial = true only where the export
// takes no lock, runs no callback and never blocks (then the call skips the GC transition).

/// <summary>SSL_SESSION: the get0/get1 family and everything a session can do.</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class SessionNative
{
    /// <summary>SSL_get0_session: borrowed view bound to the connection's session epoch (S1).</summary>
    [ShimImport("FastSessionNative_SslGet0Session", Trivial = true)]
    internal static partial SslSessionRef SslGet0Session(SslConnection connection);

    /// <summary>
    /// SSL_get0_session's bare pointer, for the connection's own publication at the end of an exclusive call
    /// (SslConnection.Borrow.cs): only ever called while the connection is held exclusively. Shares the view's extern.
    /// </summary>
    [ShimImport("FastSessionNative_SslGet0Session", Trivial = true)]
    internal static partial nint SslGet0SessionPointer(nint ssl);

    /// <summary>SSL_get1_session: owned, pooled handle freed exactly once (S2). Takes a lock.</summary>
    [ShimImport("FastSessionNative_SslGet1Session")]
    internal static partial SslSession SslGet1Session(SslConnection connection);

    [ShimImport("FastSessionNative_SslSetSession")]
    internal static partial int SslSetSession(SslConnection connection, SslSession session);

    // Every session getter is declared for both session types; each pair shares one extern, and the
    // generator leases the argument: the owned handle's slot, or the view's reader lease on its connection
    // (epoch checked inside it), so no getter can read a freed session.

    // SSL_SESSION_is_resumable is bound to libssl directly (LibSslNative.cs).

    [ShimImport("FastSessionNative_SslSessionGetContextId", Trivial = true)]
    internal static partial ulong SslSessionGetContextId(SslSession session);

    [ShimImport("FastSessionNative_SslSessionGetContextId", Trivial = true)]
    internal static partial ulong SslSessionGetContextId(SslSessionRef session);

    [ShimImport("FastSessionNative_SslSessionGetInfo", Trivial = true)]
    internal static partial int SslSessionGetInfo(SslSession session, out SslSessionInfo info);

    [ShimImport("FastSessionNative_SslSessionGetInfo", Trivial = true)]
    internal static partial int SslSessionGetInfo(SslSessionRef session, out SslSessionInfo info);

    [ShimImport("FastSessionNative_SslSessionGetProtocolVersion", Trivial = true)]
    internal static partial int SslSessionGetProtocolVersion(SslSession session);

    [ShimImport("FastSessionNative_SslSessionGetProtocolVersion", Trivial = true)]
    internal static partial int SslSessionGetProtocolVersion(SslSessionRef session);

    [ShimImport("FastSessionNative_SslSessionGetTime", Trivial = true)]
    internal static partial long SslSessionGetTime(SslSession session);

    [ShimImport("FastSessionNative_SslSessionGetTime", Trivial = true)]
    internal static partial long SslSessionGetTime(SslSessionRef session);

    [ShimImport("FastSessionNative_SslSessionGetTimeout", Trivial = true)]
    internal static partial long SslSessionGetTimeout(SslSession session);

    [ShimImport("FastSessionNative_SslSessionGetTimeout", Trivial = true)]
    internal static partial long SslSessionGetTimeout(SslSessionRef session);

    [ShimImport("FastSessionNative_SslSessionGetId", Trivial = true)]
    internal static partial int SslSessionGetId(SslSession session, Span<byte> buffer, int capacity);

    [ShimImport("FastSessionNative_SslSessionGetId", Trivial = true)]
    internal static partial int SslSessionGetId(SslSessionRef session, Span<byte> buffer, int capacity);

    [ShimImport("FastSessionNative_SslSessionSetTime")]
    internal static partial int SslSessionSetTime(SslSession session, long time);

    [ShimImport("FastSessionNative_SslSessionSetTimeout")]
    internal static partial int SslSessionSetTimeout(SslSession session, long timeout);

    [ShimImport("FastSessionNative_I2dSslSession")]
    internal static partial int I2dSslSession(SslSession session, Span<byte> buffer, int capacity, out int needed);

    [ShimImport("FastSessionNative_D2iSslSession")]
    internal static partial SslSession D2iSslSession(ReadOnlySpan<byte> der, int length, ulong contextId);

    [ShimImport("FastSessionNative_PemWriteSslSession")]
    internal static partial int PemWriteSslSession(SslSession session, Span<byte> buffer, int capacity, out int needed);

    [ShimImport("FastSessionNative_PemReadSslSession")]
    internal static partial SslSession PemReadSslSession(ReadOnlySpan<byte> pem, int length, ulong contextId);

    [ShimImport("FastSessionNative_SslSessionPrint")]
    internal static partial int SslSessionPrint(SslSession session, Span<byte> buffer, int capacity, out int needed);
}
