using System;
using System.Runtime.InteropServices;

namespace FastSession.Interop;

// Declared for the FastSession generator (generators/FastSession.Generators/README.md).

/// <summary>TLS 1.3 early data (native-shim/src/early_data.c).</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class EarlyDataNative
{
    [ShimImport("FastSessionNative_SslCtxSetEarlyData")]
    internal static partial int SslCtxSetEarlyData(SslContext context, uint maxEarlyData, uint recvMaxEarlyData, int flags);

    [ShimImport("FastSessionNative_SslWriteEarlyData")]
    internal static partial int SslWriteEarlyData(SslConnection connection, ReadOnlySpan<byte> plaintext, int plaintextLength, Span<byte> output, int outputCapacity, out FsIoResult result);

    [ShimImport("FastSessionNative_SslReadEarlyData")]
    internal static partial int SslReadEarlyData(SslConnection connection, ReadOnlySpan<byte> input, int inputLength, Span<byte> plaintext, int plaintextCapacity, Span<byte> output, int outputCapacity, out FsIoResult result);

    // Plain field reads and OpenSSL getters: no lock, no callback.
    [ShimImport("FastSessionNative_SslGetEarlyDataInfo", Trivial = true)]
    internal static partial int SslGetEarlyDataInfo(SslConnection connection, out FsEarlyDataInfo info);

    [ShimImport("FastSessionNative_SslSetEarlyDataDecision")]
    internal static partial int SslSetEarlyDataDecision(SslConnection connection, int allow, int reason);

    [ShimImport("FastSessionNative_GetEarlyDataInfoSize", Trivial = true)]
    internal static partial int GetEarlyDataInfoSize();

    // FS_READ_EARLY_DATA_* and the flags / decisions of fastsession_shim.h (asserted in early_data.c).
    internal const int ReadError = 0;
    internal const int ReadSuccess = 1;
    internal const int ReadFinish = 2;
    internal const int FlagDecide = 1;
    internal const int FlagNoAntiReplay = 2;
    internal const int DecisionNone = 0;
    internal const int DecisionPending = 1;
    internal const int DecisionAllow = 2;
    internal const int DecisionDeny = 3;
    internal const int DecisionNotOffered = 4;
    internal const int IdentityHashLength = 32;
    internal const int InfoSize = 72;
}

/// <summary>fs_early_data_info (72 bytes; early_data.c asserts it, <see cref="SslConnection"/> checks it once).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsEarlyDataInfo
{
    public int Status;
    public int Offered;
    public uint SessionMaxEarlyData;
    public int HasSession;
    public int Reused;
    public int AllowCallbackRan;
    public int Decision;
    public int DenyReason;
    public int IdentityLength;
    public int MaxEarlyData;
    public Bytes32 IdentityHash; // uint8_t[32] (Bytes32: TicketKeyNative.cs)
}
