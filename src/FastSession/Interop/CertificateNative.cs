using System;

namespace FastSession.Interop;

// Declared for the FastSession generator (generators/FastSession.Generators/README.md), which writes the
// blittable DllImports and the wrapper bodies (leases, pins, UTF-8). Trivial = true only where the export
// takes no lock, runs no callback and never blocks (then the call skips the GC transition).

/// <summary>The peer certificate: the second get0/get1 ownership pair.</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class CertificateNative
{
    [ShimImport("FastSessionNative_SslGet0PeerCertificate", Trivial = true)]
    internal static partial PeerCertificateRef SslGet0PeerCertificate(SslConnection connection);

    [ShimImport("FastSessionNative_SslGet1PeerCertificate")]
    internal static partial PeerCertificate SslGet1PeerCertificate(SslConnection connection);

    // Declared for both certificate types; each pair shares one extern (the generator leases the argument).

    [ShimImport("FastSessionNative_I2dX509")]
    internal static partial int I2dX509(PeerCertificate certificate, Span<byte> buffer, int capacity, out int needed);

    [ShimImport("FastSessionNative_I2dX509")]
    internal static partial int I2dX509(PeerCertificateRef certificate, Span<byte> buffer, int capacity, out int needed);

    [ShimImport("FastSessionNative_X509GetSubjectName")]
    internal static partial int X509GetSubjectName(PeerCertificate certificate, Span<byte> buffer, int capacity);

    [ShimImport("FastSessionNative_X509GetSubjectName")]
    internal static partial int X509GetSubjectName(PeerCertificateRef certificate, Span<byte> buffer, int capacity);
}
