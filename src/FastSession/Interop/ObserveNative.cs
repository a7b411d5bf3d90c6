using System.Runtime.InteropServices;

namespace FastSession.Interop;

/// <summary>What the shim records for metrics and resumption reasons (native-shim/src/observe.c).</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class ObserveNative
{
    // Plain field reads of the connection's shim data: no lock, no callback.
    [ShimImport("FastSessionNative_SslGetResumptionInfo", Trivial = true)]
    internal static partial int SslGetResumptionInfo(SslConnection connection, out FsResumptionInfo info);

    [ShimImport("FastSessionNative_GetObserveCounts", Trivial = true)]
    internal static partial void GetObserveCounts(out FsObserveCounts counts);

    [ShimImport("FastSessionNative_GetObserveStructSize", Trivial = true)]
    internal static partial int GetObserveStructSize(int which);
}

/// <summary>FS_TICKET_STATUS_* (fastsession_shim.h).</summary>
internal static class ShimTicketStatus
{
    internal const int None = 0;
    internal const int Empty = 1;
    internal const int NotDecrypted = 2;
    internal const int Decrypted = 3;
    internal const int DecryptedRenew = 4;

    internal const int StructObserveCounts = 0;
    internal const int StructResumptionInfo = 1;
}

/// <summary>fs_resumption_info (16 bytes, pinned by observe.c and ObservabilityAbiTests).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsResumptionInfo
{
    public int TicketStatus;
    public int TicketExpired;
    public int TicketsSent;
    public int Reserved;
}

/// <summary>fs_observe_counts (56 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsObserveCounts
{
    public long SessionsCaptured;
    public long TicketsReceived;
    public long TicketsSent;
    public long TicketEmpty;
    public long TicketNotDecrypted;
    public long TicketDecrypted;
    public long TicketDecryptedRenew;
}
