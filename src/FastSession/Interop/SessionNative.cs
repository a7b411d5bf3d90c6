namespace FastSession.Interop;

// Every call into native-shim/, declared for the FastSession generator
// (generators/FastSession.Generators/README.md). The generator writes the blittable DllImports and
// the wrappers that turn pointers into borrowed views (get0) and pooled owned handles (get1).
// Trivial = true only where the export takes no lock, runs no callback and never blocks
// (then the call skips the GC transition).

/// <summary>Errors, accounting and layout checks.</summary>
[ShimLibrary("fastsession_shim")]
internal static unsafe partial class ErrorNative
{
    [ShimImport("FastSessionNative_ErrGetError", Trivial = true)]
    internal static partial ulong ErrGetError();

    // ERR_error_string_n may load the string tables under a lock: not trivial.
    [ShimImport("FastSessionNative_ErrErrorStringN")]
    internal static partial int ErrErrorStringN(ulong error, byte* buffer, int capacity);

    [ShimImport("FastSessionNative_ErrClearError")]
    internal static partial void ErrClearError();

    [ShimImport("FastSessionNative_GetLiveCounts", Trivial = true)]
    internal static partial void GetLiveCounts(FsLiveCounts* counts);

    [ShimImport("FastSessionNative_GetStructSize", Trivial = true)]
    internal static partial int GetStructSize(int which);
}

/// <summary>SSL_CTX: creation, certificates, ALPN, the session cache.</summary>
[ShimLibrary("fastsession_shim")]
internal static unsafe partial class ContextNative
{
    [ShimImport("FastSessionNative_SslCtxCreate")]
    internal static partial nint SslCtxCreate(FsCtxOptions* options, ulong* contextId);

    [ShimImport("FastSessionNative_SslCtxFree")]
    internal static partial void SslCtxFree(nint context);

    [ShimImport("FastSessionNative_SslCtxUseCertificateAndKeyPem")]
    internal static partial int SslCtxUseCertificateAndKeyPem(SslContext context, byte* certificatePem, int certificateLength, byte* keyPem, int keyLength);

    [ShimImport("FastSessionNative_SslCtxUseEphemeralCertificate")]
    internal static partial int SslCtxUseEphemeralCertificate(SslContext context, byte* commonName, int daysValid);

    [ShimImport("FastSessionNative_SslCtxGetCertificatePem")]
    internal static partial int SslCtxGetCertificatePem(SslContext context, byte* buffer, int capacity, int* needed);

    [ShimImport("FastSessionNative_SslCtxAddTrustedCertificatePem")]
    internal static partial int SslCtxAddTrustedCertificatePem(SslContext context, byte* pem, int length);

    [ShimImport("FastSessionNative_SslCtxSetAlpnProtos")]
    internal static partial int SslCtxSetAlpnProtos(SslContext context, byte* wire, int length);

    // Takes the cache lock and may free sessions.
    [ShimImport("FastSessionNative_SslCtxFlushSessions")]
    internal static partial void SslCtxFlushSessions(SslContext context, long time);

    [ShimImport("FastSessionNative_SslCtxSessNumber")]
    internal static partial long SslCtxSessNumber(SslContext context);
}

/// <summary>SSL over memory BIOs: the batched engine (one transition per flight).</summary>
[ShimLibrary("fastsession_shim")]
internal static unsafe partial class ConnectionNative
{
    [ShimImport("FastSessionNative_SslCreate")]
    internal static partial nint SslCreate(SslContext context, byte* serverName);

    [ShimImport("FastSessionNative_SslFree")]
    internal static partial void SslFree(nint ssl);

    [ShimImport("FastSessionNative_SslClear")]
    internal static partial int SslClear(SslConnection connection, byte* serverName);

    [ShimImport("FastSessionNative_SslDoHandshake")]
    internal static partial int SslDoHandshake(SslConnection connection, byte* input, int inputLength, byte* output, int outputCapacity, FsIoResult* result);

    [ShimImport("FastSessionNative_SslRead")]
    internal static partial int SslRead(SslConnection connection, byte* input, int inputLength, byte* plaintext, int plaintextCapacity, byte* output, int outputCapacity, FsIoResult* result);

    [ShimImport("FastSessionNative_SslWrite")]
    internal static partial int SslWrite(SslConnection connection, byte* plaintext, int plaintextLength, byte* output, int outputCapacity, FsIoResult* result);

    [ShimImport("FastSessionNative_SslShutdown")]
    internal static partial int SslShutdown(SslConnection connection, byte* output, int outputCapacity, FsIoResult* result);

    [ShimImport("FastSessionNative_SslDrainOutput", Trivial = true)]
    internal static partial int SslDrainOutput(SslConnection connection, byte* output, int outputCapacity);

    [ShimImport("FastSessionNative_SslPendingOutput", Trivial = true)]
    internal static partial int SslPendingOutput(SslConnection connection);

    [ShimImport("FastSessionNative_SslTakeNewSessions")]
    internal static partial int SslTakeNewSessions(SslConnection connection, nint* sessions, int capacity);

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
    internal static partial int SslGet0AlpnSelected(SslConnection connection, byte* buffer, int capacity);
}

/// <summary>SSL_SESSION: the get0/get1 family and everything a session can do.</summary>
[ShimLibrary("fastsession_shim")]
internal static unsafe partial class SessionNative
{
    /// <summary>SSL_get0_session: borrowed view bound to the connection's session epoch (S1).</summary>
    [ShimImport("FastSessionNative_SslGet0Session", Trivial = true)]
    internal static partial SslSessionRef SslGet0Session(SslConnection connection);

    /// <summary>SSL_get1_session: owned, pooled handle freed exactly once (S2). Takes a lock.</summary>
    [ShimImport("FastSessionNative_SslGet1Session")]
    internal static partial SslSession SslGet1Session(SslConnection connection);

    [ShimImport("FastSessionNative_SslSetSession")]
    internal static partial int SslSetSession(SslConnection connection, SslSession session);

    [ShimImport("FastSessionNative_SslSessionIsResumable", Trivial = true)]
    internal static partial int SslSessionIsResumable(nint session);

    [ShimImport("FastSessionNative_SslSessionGetContextId", Trivial = true)]
    internal static partial ulong SslSessionGetContextId(nint session);

    [ShimImport("FastSessionNative_SslSessionGetInfo", Trivial = true)]
    internal static partial int SslSessionGetInfo(nint session, SslSessionInfo* info);

    [ShimImport("FastSessionNative_SslSessionGetProtocolVersion", Trivial = true)]
    internal static partial int SslSessionGetProtocolVersion(nint session);

    [ShimImport("FastSessionNative_SslSessionGetTime", Trivial = true)]
    internal static partial long SslSessionGetTime(nint session);

    [ShimImport("FastSessionNative_SslSessionGetTimeout", Trivial = true)]
    internal static partial long SslSessionGetTimeout(nint session);

    [ShimImport("FastSessionNative_SslSessionGetId", Trivial = true)]
    internal static partial int SslSessionGetId(nint session, byte* buffer, int capacity);

    [ShimImport("FastSessionNative_SslSessionSetTime")]
    internal static partial int SslSessionSetTime(SslSession session, long time);

    [ShimImport("FastSessionNative_SslSessionSetTimeout")]
    internal static partial int SslSessionSetTimeout(SslSession session, long timeout);

    [ShimImport("FastSessionNative_I2dSslSession")]
    internal static partial int I2dSslSession(SslSession session, byte* buffer, int capacity, int* needed);

    [ShimImport("FastSessionNative_D2iSslSession")]
    internal static partial SslSession D2iSslSession(byte* der, int length, ulong contextId);

    [ShimImport("FastSessionNative_PemWriteSslSession")]
    internal static partial int PemWriteSslSession(SslSession session, byte* buffer, int capacity, int* needed);

    [ShimImport("FastSessionNative_PemReadSslSession")]
    internal static partial SslSession PemReadSslSession(byte* pem, int length, ulong contextId);

    [ShimImport("FastSessionNative_SslSessionPrint")]
    internal static partial int SslSessionPrint(SslSession session, byte* buffer, int capacity, int* needed);
}

/// <summary>The peer certificate: the second get0/get1 ownership pair.</summary>
[ShimLibrary("fastsession_shim")]
internal static unsafe partial class CertificateNative
{
    [ShimImport("FastSessionNative_SslGet0PeerCertificate", Trivial = true)]
    internal static partial PeerCertificateRef SslGet0PeerCertificate(SslConnection connection);

    [ShimImport("FastSessionNative_SslGet1PeerCertificate")]
    internal static partial PeerCertificate SslGet1PeerCertificate(SslConnection connection);

    [ShimImport("FastSessionNative_I2dX509")]
    internal static partial int I2dX509(nint certificate, byte* buffer, int capacity, int* needed);

    [ShimImport("FastSessionNative_X509GetSubjectName")]
    internal static partial int X509GetSubjectName(nint certificate, byte* buffer, int capacity);
}
