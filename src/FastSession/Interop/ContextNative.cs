using System;

namespace FastSession.Interop;

// Declared for the FastSession generator (generators/FastSession.Generators/README.md), which writes the
// blittable DllImports and the wrapper bodies (leases, pins, UTF-8). Trivial = true only where the export
// takes no lock, runs no callback and never blocks (then the call skips the GC transition).

/// <summary>SSL_CTX: creation, certificates, ALPN, the session cache.</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class ContextNative
{
    [ShimImport("FastSessionNative_SslCtxCreate")]
    internal static partial nint SslCtxCreate(ref FsCtxOptions options, out ulong contextId);

    [ShimImport("FastSessionNative_SslCtxFree")]
    internal static partial void SslCtxFree(nint context);

    [ShimImport("FastSessionNative_SslCtxUseCertificateAndKeyPem")]
    internal static partial int SslCtxUseCertificateAndKeyPem(SslContext context, ReadOnlySpan<byte> certificatePem, int certificateLength, ReadOnlySpan<byte> keyPem, int keyLength);

    [ShimImport("FastSessionNative_SslCtxUseEphemeralCertificate")]
    internal static partial int SslCtxUseEphemeralCertificate(SslContext context, string commonName, int daysValid);

    [ShimImport("FastSessionNative_SslCtxGetCertificatePem")]
    internal static partial int SslCtxGetCertificatePem(SslContext context, Span<byte> buffer, int capacity, out int needed);

    [ShimImport("FastSessionNative_SslCtxAddTrustedCertificatePem")]
    internal static partial int SslCtxAddTrustedCertificatePem(SslContext context, ReadOnlySpan<byte> pem, int length);

    [ShimImport("FastSessionNative_SslCtxSetAlpnProtos")]
    internal static partial int SslCtxSetAlpnProtos(SslContext context, ReadOnlySpan<byte> wire, int length);

    // Takes the cache lock and may free sessions.
    [ShimImport("FastSessionNative_SslCtxFlushSessions")]
    internal static partial void SslCtxFlushSessions(SslContext context, long time);

    [ShimImport("FastSessionNative_SslCtxSessNumber")]
    internal static partial long SslCtxSessNumber(SslContext context);
}
