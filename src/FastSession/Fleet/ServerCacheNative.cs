using System;
using System.Runtime.InteropServices;

namespace FastSession.Interop;

/// <summary>The server session cache outside the process (native-shim/src/server_cache.c).</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class ServerCacheNative
{
    internal const int SslErrorWantClientHelloCb = 11; // FS_SSL_ERROR_WANT_CLIENT_HELLO_CB (server_cache.c asserts it)
    internal const int LookupNone = 0;
    internal const int LookupSessionId = 1;
    internal const int LookupPskIdentity = 2;

    [ShimImport("FastSessionNative_SslCtxSetExternalSessionCache")]
    internal static partial int SslCtxSetExternalSessionCache(SslContext context, int mode);

    [ShimImport("FastSessionNative_SslCtxGetSessionCacheMode", Trivial = true)]
    internal static partial int SslCtxGetSessionCacheMode(SslContext context);

    [ShimImport("FastSessionNative_SslGetSessionLookup", Trivial = true)]
    internal static partial int SslGetSessionLookup(SslConnection connection, Span<byte> key, int keyCapacity, out int keyLength);

    // d2i_SSL_SESSION: not trivial.
    [ShimImport("FastSessionNative_SslProvideSession")]
    internal static partial int SslProvideSession(SslConnection connection, ReadOnlySpan<byte> der, int length);

    [ShimImport("FastSessionNative_SslCtxSetSessionIdContext")]
    internal static partial int SslCtxSetSessionIdContext(SslContext context, ReadOnlySpan<byte> sidCtx, int length);

    [ShimImport("FastSessionNative_GetServerCacheCounts", Trivial = true)]
    internal static partial void GetServerCacheCounts(out FsServerCacheCounts counts);
}

/// <summary>fs_server_cache_counts (48 bytes; pinned by _Static_assert in server_cache.c and by the managed tests).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsServerCacheCounts
{
    public long Lookups;
    public long Provided;
    public long Rejected;
    public long Returned;
    public long Removed;
    public long Skipped;
}
