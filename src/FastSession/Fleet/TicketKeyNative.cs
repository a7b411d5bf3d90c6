using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastSession.Interop;

/// <summary>Session-ticket keys (native-shim/src/ticket_keys.c).</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class TicketKeyNative
{
    internal const int NameLength = 16;
    internal const int MaxKeys = 16;

    [ShimImport("FastSessionNative_TicketKeysNew")]
    internal static partial nint TicketKeysNew();

    [ShimImport("FastSessionNative_TicketKeysFree")]
    internal static partial void TicketKeysFree(nint ring);

    // Takes the ring's write lock: not trivial.
    [ShimImport("FastSessionNative_TicketKeysInstall")]
    internal static partial int TicketKeysInstall(nint ring, ReadOnlySpan<FsTicketKey> keys, int count);

    [ShimImport("FastSessionNative_TicketKeysGetCounts", Trivial = true)]
    internal static partial int TicketKeysGetCounts(nint ring, out FsTicketKeyCounts counts);

    [ShimImport("FastSessionNative_TicketKeysGetLiveCount", Trivial = true)]
    internal static partial long TicketKeysGetLiveCount();

    [ShimImport("FastSessionNative_SslCtxSetTlsextTicketKeyEvpCb")]
    internal static partial int SslCtxSetTlsextTicketKeyEvpCb(SslContext context, nint ring);
}

/// <summary>fs_ticket_key (96 bytes; pinned by _Static_assert in ticket_keys.c and by the managed tests).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsTicketKey
{
    internal Bytes16 Name;
    internal Bytes32 HmacKey;
    internal Bytes32 AesKey;
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

/// <summary>16 inline bytes of a mirrored struct (C <c>uint8_t[16]</c>): a span over it needs no pin.</summary>
[InlineArray(16)]
internal struct Bytes16
{
    private byte _first;
}

/// <summary>32 inline bytes of a mirrored struct (C <c>uint8_t[32]</c>).</summary>
[InlineArray(32)]
internal struct Bytes32
{
    private byte _first;
}
