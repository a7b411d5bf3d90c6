using System;

namespace FastSession.Interop;

// Declared for the FastSession generator (generators/FastSession.Generators/README.md).

/// <summary>The server side of the session API (server.c) and the engine calls it adds (connection.c).</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class ServerNative
{
    [ShimImport("FastSessionNative_SslGetServername", Trivial = true)]
    internal static partial int SslGetServername(SslConnection connection, Span<byte> buffer, int capacity);

    [ShimImport("FastSessionNative_SslSetNumTickets")]
    internal static partial int SslSetNumTickets(SslConnection connection, int count);

    [ShimImport("FastSessionNative_SslGetNumTickets", Trivial = true)]
    internal static partial int SslGetNumTickets(SslConnection connection);

    [ShimImport("FastSessionNative_SslSessionDup")]
    internal static partial SslSession SslSessionDup(SslSession session);

    [ShimImport("FastSessionNative_SslCtxAddServerNameContext")]
    internal static partial int SslCtxAddServerNameContext(SslContext parent, string name, SslContext child);

    [ShimImport("FastSessionNative_SslCtxAddSession")]
    internal static partial int SslCtxAddSession(SslContext context, SslSession session);

    [ShimImport("FastSessionNative_SslCtxRemoveSession")]
    internal static partial int SslCtxRemoveSession(SslContext context, SslSession session);


    [ShimImport("FastSessionNative_SslShutdownWithInput")]
    internal static partial int SslShutdownWithInput(SslConnection connection, ReadOnlySpan<byte> input, int inputLength, Span<byte> output, int outputCapacity, out FsIoResult result);
}
