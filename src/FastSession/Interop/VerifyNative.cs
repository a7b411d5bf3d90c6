using System;

namespace FastSession.Interop;

// Peer verification (native-shim/src/verify.c); the server side of the session API is ServerNative.cs.
// None of these run on a hot path, so none is Trivial except the plain getters.

/// <summary>Peer verification: trust, the host name check, the recorded verdict (verify.c).</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class VerifyNative
{
    [ShimImport("FastSessionNative_SslCtxSetVerify")]
    internal static partial int SslCtxSetVerify(SslContext context, int flags);

    // Reads files and directories.
    [ShimImport("FastSessionNative_SslCtxLoadVerifyLocations")]
    internal static partial int SslCtxLoadVerifyLocations(SslContext context, string? file, string? directory);

    [ShimImport("FastSessionNative_SslCtxAddClientCaPem")]
    internal static partial int SslCtxAddClientCaPem(SslContext context, ReadOnlySpan<byte> pem, int length);

    [ShimImport("FastSessionNative_SslGetVerifyStatus", Trivial = true)]
    internal static partial int SslGetVerifyStatus(SslConnection connection, out int error, out int depth, out int policy);

    [ShimImport("FastSessionNative_SslGetVerifyChainLength", Trivial = true)]
    internal static partial int SslGetVerifyChainLength(SslConnection connection);

    [ShimImport("FastSessionNative_SslGetVerifyChainCertificate")]
    internal static partial int SslGetVerifyChainCertificate(SslConnection connection, int index, Span<byte> buffer, int capacity, out int needed);

    [ShimImport("FastSessionNative_SslSetVerifyDecision")]
    internal static partial int SslSetVerifyDecision(SslConnection connection, int accept);

    // X509_verify_cert_error_string may load string tables under a lock.
    [ShimImport("FastSessionNative_X509VerifyCertErrorString")]
    internal static partial int X509VerifyCertErrorString(int error, Span<byte> buffer, int capacity);

    [ShimImport("FastSessionNative_SslGetVerifyPeerNames")]
    internal static partial int SslGetVerifyPeerNames(SslConnection connection, Span<byte> buffer, int capacity);

    [ShimImport("FastSessionNative_SslGetVerifyResult", Trivial = true)]
    internal static partial long SslGetVerifyResult(SslConnection connection);
}
