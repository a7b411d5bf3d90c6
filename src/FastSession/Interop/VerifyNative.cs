namespace FastSession.Interop;

// Peer verification and the server side of the session API (native-shim/src/verify.c, server.c).
// None of these run on a hot path, so none is Trivial except the plain getters.

/// <summary>Peer verification: trust, the host name check, the recorded verdict (verify.c).</summary>
[ShimLibrary("fastsession_shim")]
internal static unsafe partial class VerifyNative
{
    [ShimImport("FastSessionNative_SslCtxSetVerify")]
    internal static partial int SslCtxSetVerify(SslContext context, int flags);

    // Reads files and directories.
    [ShimImport("FastSessionNative_SslCtxLoadVerifyLocations")]
    internal static partial int SslCtxLoadVerifyLocations(SslContext context, byte* file, byte* directory);

    [ShimImport("FastSessionNative_SslCtxAddClientCaPem")]
    internal static partial int SslCtxAddClientCaPem(SslContext context, byte* pem, int length);

    [ShimImport("FastSessionNative_SslGetVerifyStatus", Trivial = true)]
    internal static partial int SslGetVerifyStatus(SslConnection connection, int* error, int* depth, int* policy);

    [ShimImport("FastSessionNative_SslGetVerifyChainLength", Trivial = true)]
    internal static partial int SslGetVerifyChainLength(SslConnection connection);

    [ShimImport("FastSessionNative_SslGetVerifyChainCertificate")]
    internal static partial int SslGetVerifyChainCertificate(SslConnection connection, int index, byte* buffer, int capacity, int* needed);

    [ShimImport("FastSessionNative_SslSetVerifyDecision")]
    internal static partial int SslSetVerifyDecision(SslConnection connection, int accept);

    // X509_verify_cert_error_string may load string tables under a lock.
    [ShimImport("FastSessionNative_X509VerifyCertErrorString")]
    internal static partial int X509VerifyCertErrorString(int error, byte* buffer, int capacity);

    [ShimImport("FastSessionNative_SslGetVerifyPeerNames")]
    internal static partial int SslGetVerifyPeerNames(SslConnection connection, byte* buffer, int capacity);

    [ShimImport("FastSessionNative_SslGetVerifyResult", Trivial = true)]
    internal static partial long SslGetVerifyResult(SslConnection connection);
}

/// <summary>The server side of the session API (server.c) and the engine calls it adds (connection.c).</summary>
[ShimLibrary("fastsession_shim")]
internal static unsafe partial class ServerNative
{
    [ShimImport("FastSessionNative_SslGetServername", Trivial = true)]
    internal static partial int SslGetServername(SslConnection connection, byte* buffer, int capacity);

    [ShimImport("FastSessionNative_SslSetNumTickets")]
    internal static partial int SslSetNumTickets(SslConnection connection, int count);

    [ShimImport("FastSessionNative_SslGetNumTickets", Trivial = true)]
    internal static partial int SslGetNumTickets(SslConnection connection);

    [ShimImport("FastSessionNative_SslSessionDup")]
    internal static partial SslSession SslSessionDup(SslSession session);

    [ShimImport("FastSessionNative_SslCtxAddServerNameContext")]
    internal static partial int SslCtxAddServerNameContext(SslContext parent, byte* name, SslContext child);

    [ShimImport("FastSessionNative_SslCtxAddSession")]
    internal static partial int SslCtxAddSession(SslContext context, SslSession session);

    [ShimImport("FastSessionNative_SslCtxRemoveSession")]
    internal static partial int SslCtxRemoveSession(SslContext context, SslSession session);


    [ShimImport("FastSessionNative_SslShutdownWithInput")]
    internal static partial int SslShutdownWithInput(SslConnection connection, byte* input, int inputLength, byte* output, int outputCapacity, FsIoResult* result);
}
