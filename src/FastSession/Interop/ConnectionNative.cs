using System;

namespace FastSession.Interop;

// Declared for the FastSession generator (generators/FastSession.Generators/README.md), which writes the
// blittable DllImports and the wrapper bodies (leases, pins, UTF-8). Trivial = true only where the export
// takes no lock, runs no callback and never blocks (then the call skips the GC transition).

/// <summary>SSL over memory BIOs: the batched engine (one transition per flight).</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class ConnectionNative
{
    [ShimImport("FastSessionNative_SslCreate")]
    internal static partial nint SslCreate(SslContext context, string? serverName);

    [ShimImport("FastSessionNative_SslFree")]
    internal static partial void SslFree(nint ssl);

    [ShimImport("FastSessionNative_SslClear")]
    internal static partial int SslClear(SslConnection connection, string? serverName);

    [ShimImport("FastSessionNative_SslDoHandshake")]
    internal static partial int SslDoHandshake(SslConnection connection, ReadOnlySpan<byte> input, int inputLength, Span<byte> output, int outputCapacity, out FsIoResult result);

    [ShimImport("FastSessionNative_SslRead")]
    internal static partial int SslRead(SslConnection connection, ReadOnlySpan<byte> input, int inputLength, Span<byte> plaintext, int plaintextCapacity, Span<byte> output, int outputCapacity, out FsIoResult result);

    [ShimImport("FastSessionNative_SslWrite")]
    internal static partial int SslWrite(SslConnection connection, ReadOnlySpan<byte> plaintext, int plaintextLength, Span<byte> output, int outputCapacity, out FsIoResult result);

    [ShimImport("FastSessionNative_SslShutdown")]
    internal static partial int SslShutdown(SslConnection connection, Span<byte> output, int outputCapacity, out FsIoResult result);

    [ShimImport("FastSessionNative_SslDrainOutput", Trivial = true)]
    internal static partial int SslDrainOutput(SslConnection connection, Span<byte> output, int outputCapacity);

    [ShimImport("FastSessionNative_SslPendingOutput", Trivial = true)]
    internal static partial int SslPendingOutput(SslConnection connection);

    [ShimImport("FastSessionNative_SslTakeNewSessions")]
    internal static partial int SslTakeNewSessions(SslConnection connection, Span<nint> sessions, int capacity);

    [ShimImport("FastSessionNative_SslNewSessionTicket")]
    internal static partial int SslNewSessionTicket(SslConnection connection);

    [ShimImport("FastSessionNative_SslGetDroppedSessionCount", Trivial = true)]
    internal static partial int SslGetDroppedSessionCount(SslConnection connection);

    [ShimImport("FastSessionNative_SslSessionReused", Trivial = true)]
    internal static partial int SslSessionReused(SslConnection connection);

    [ShimImport("FastSessionNative_SslVersion", Trivial = true)]
    internal static partial int SslVersion(SslConnection connection);

    [ShimImport("FastSessionNative_SslIsInitFinished", Trivial = true)]
    internal static partial int SslIsInitFinished(SslConnection connection);

    [ShimImport("FastSessionNative_SslGetShutdown", Trivial = true)]
    internal static partial int SslGetShutdown(SslConnection connection);

    [ShimImport("FastSessionNative_SslGet0AlpnSelected", Trivial = true)]
    internal static partial int SslGet0AlpnSelected(SslConnection connection, Span<byte> buffer, int capacity);
}
