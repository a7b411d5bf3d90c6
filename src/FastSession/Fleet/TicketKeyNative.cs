using System.Runtime.InteropServices;

namespace FastSession.Interop;

/// <summary>Session-ticket keys (native-shim/src/ticket_keys.c).</summary>
[ShimLibrary("fastsession_shim")]
internal static unsafe partial class TicketKeyNative
{
    internal const int NameLength = 16;
    internal const int MaxKeys = 16;

    [ShimImport("FastSessionNative_TicketKeysNew")]
    internal static partial nint TicketKeysNew();

    [ShimImport("FastSessionNative_TicketKeysFree")]
    internal static partial void TicketKeysFree(nint ring);

    // Takes the ring's write lock: not trivial.
    [ShimImport("FastSessionNative_TicketKeysInstall")]
    internal static partial int TicketKeysInstall(nint ring, FsTicketKey* keys, int count);

    [ShimImport("FastSessionNative_TicketKeysGetCounts", Trivial = true)]
    internal static partial int TicketKeysGetCounts(nint ring, FsTicketKeyCounts* counts);

    [ShimImport("FastSessionNative_TicketKeysGetLiveCount", Trivial = true)]
    internal static partial long TicketKeysGetLiveCount();

    [ShimImport("FastSessionNative_SslCtxSetTlsextTicketKeyEvpCb")]
    internal static partial int SslCtxSetTlsextTicketKeyEvpCb(SslContext context, nint ring);
}

/// <summary>fs_ticket_key (96 bytes; pinned by _Static_assert in ticket_keys.c and by the managed tests).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FsTicketKey
{
    internal fixed byte Name[16];
    internal fixed byte HmacKey[32];
    internal fixed byte AesKey[32];
    internal int KeySize;
    internal int Reserved;
    internal long NotAfter;
}

/// <summary>fs_ticket_key_counts (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsTicketKeyCounts
{
    internal long Issued;
    internal long Resumed;
    internal long Renewed;
    internal long Failed;
}
