using System.Runtime.InteropServices;

namespace FastSession.Interop;

// Mirrors of native-shim/include/fastsession_shim.h. The C side pins sizes and offsets with
// _Static_assert (native-shim/src/abi_checks.c); ShimLayout.Verify checks the same numbers
// against the loaded library once, and the managed tests assert them too.

/// <summary>Constants shared with the shim (FS_* in fastsession_shim.h).</summary>
internal static class ShimConstants
{
    internal const int Ok = 1;
    internal const int ErrOpenSsl = -1;
    internal const int ErrWrongContext = -2;
    internal const int ErrArgument = -3;
    internal const int ErrBufferTooSmall = -4;
    internal const int ErrNotResumable = -5;
    internal const int ErrSessionCached = -6;

    internal const int SslErrorNone = 0;
    internal const int SslErrorSsl = 1;
    internal const int SslErrorWantRead = 2;
    internal const int SslErrorWantWrite = 3;
    internal const int SslErrorSyscall = 5;
    internal const int SslErrorZeroReturn = 6;
    internal const int SslErrorWantRetryVerify = 12; // FS_SSL_ERROR_WANT_RETRY_VERIFY (verify.c asserts it)

    internal const int NewSessionRingCapacity = 8;
    internal const int NewSessionQueueMax = 65536;
    internal const int SessionIdMax = 32;
    internal const int CipherNameMax = 64;
    internal const int SniMax = 256;
    internal const int AlpnMax = 256;

    internal const int StructCtxOptions = 0;
    internal const int StructIoResult = 1;
    internal const int StructSessionInfo = 2;
    internal const int StructLiveCounts = 3;
}

/// <summary>fs_ctx_options.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsCtxOptions
{
    public int IsServer;
    public int MinVersion;
    public int MaxVersion;
    public int TicketsEnabled;
    public int NumTickets;
    public int SessionCacheSize;
    public long SessionTimeoutSeconds;
    public int CaptureNewSessions;
    public int VerifyPeer;
}

/// <summary>fs_io_result: everything one batched engine call reports.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsIoResult
{
    public int Ret;
    public int SslError;
    public int BytesConsumed;
    public int BytesProduced;
    public int PendingOutput;
    public int PlaintextBytes;
    public int NewSessions;
    public int HandshakeDone;
    public ulong ErrorCode;
}

/// <summary>fs_live_counts.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsLiveCounts
{
    public long Contexts;
    public long Connections;
    public long Sessions;
    public long Certificates;
}
