using System.Runtime.InteropServices;

namespace FastSession.Interop
{
    /// <summary>Mirror of fs_session_info (abbreviated).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct FsSessionInfo
    {
        public int IdLength;
        public int ProtocolVersion;
        public long Time;
    }

    [ShimLibrary("fastsession_shim")]
    internal static unsafe partial class SessionNative
    {
        [ShimImport("FastSessionNative_SslGet0Session", Trivial = true)]
        internal static partial SslSessionRef Get0Session(SslConnection ssl);

        [ShimImport("FastSessionNative_SslGet1Session")]
        internal static partial SslSession Get1Session(SslConnection ssl);

        [ShimImport("FastSessionNative_SslSessionIsResumable", Trivial = true)]
        internal static partial int SessionIsResumable(SslSession session);

        [ShimImport("FastSessionNative_SslSessionIsResumable", Trivial = true)]
        internal static partial int SessionIsResumable(SslSessionRef session);

        [ShimImport("FastSessionNative_SslSessionGetInfo", Trivial = true)]
        internal static partial int SessionGetInfo(SslSessionRef session, FsSessionInfo* info);

        [ShimImport("FastSessionNative_SslSessionGetId", Trivial = true)]
        internal static partial int SessionGetId(SslSession session, byte* buffer, int capacity);

        [ShimImport("FastSessionNative_SslSetSession")]
        internal static partial int SetSession(SslConnection ssl, SslSession session);

        [ShimImport("FastSessionNative_SslCtxFlushSessions")]
        internal static partial void FlushSessions(SslContext context, long time);

        [ShimImport("FastSessionNative_I2dSslSession")]
        internal static partial int I2dSslSession(SslSession session, byte* buffer, int capacity, int* needed);

        // Span shape: pinned by the generator; the length is passed explicitly.
        [ShimImport("FastSessionNative_I2dSslSession")]
        internal static partial int I2dSslSession(SslSession session, System.Span<byte> buffer, int capacity, int* needed);

        // out shape: pinned, passed as T*, not zeroed first.
        [ShimImport("FastSessionNative_SslSessionGetInfo", Trivial = true)]
        internal static partial int SessionGetInfo(SslSession session, out FsSessionInfo info);

        [ShimImport("FastSessionNative_PemWriteSslSession")]
        internal static partial int PemWriteSslSession(SslSession session, System.Span<byte> buffer, int capacity, out int needed);

        [ShimImport("FastSessionNative_D2iSslSession")]
        internal static partial SslSession D2iSslSession(scoped System.ReadOnlySpan<byte> der, int length, ulong contextId);

        // UTF-8 string shape: NUL-terminated; string? passes NULL for null.
        [ShimImport("FastSessionNative_SslClear")]
        internal static partial int SslClear(SslConnection ssl, string? serverName);

        [ShimImport("FastSessionNative_SslCtxUseEphemeralCertificate")]
        internal static partial int UseEphemeralCertificate(SslContext context, string commonName, int daysValid);

        [ShimImport("FastSessionNative_ErrClearError")]
        internal static partial void ErrClearError();
    }

    [ShimLibrary("fastsession_shim")]
    internal static unsafe partial class CertificateNative
    {
        [ShimImport("FastSessionNative_SslGet0PeerCertificate", Trivial = true)]
        internal static partial PeerCertificateRef Get0PeerCertificate(SslConnection ssl);

        [ShimImport("FastSessionNative_SslGet1PeerCertificate")]
        internal static partial PeerCertificate Get1PeerCertificate(SslConnection ssl);

        [ShimImport("FastSessionNative_X509GetSubjectName", Trivial = true)]
        internal static partial int GetSubjectName(PeerCertificateRef certificate, byte* buffer, int capacity);

        [ShimImport("FastSessionNative_I2dX509")]
        internal static partial int I2dX509(PeerCertificate certificate, byte* buffer, int capacity, int* needed);
    }
}
