using FastSession.Interop;

namespace FastSession
{
    /// <summary>A borrowed SSL_SESSION (SSL_get0_session).</summary>
    [BorrowedView(typeof(SslConnection), "fastsession_shim", UpRefEntryPoint = "FastSessionNative_SslSessionUpRef", OwnedType = typeof(SslSession))]
    public readonly ref partial struct SslSessionRef
    {
        /// <summary>SSL_SESSION_is_resumable.</summary>
        public bool IsResumable => SessionNative.SessionIsResumable(this) != 0;
    }

    /// <summary>An owned SSL_SESSION (SSL_get1_session), freed once with SSL_SESSION_free.</summary>
    [OwnedHandle("fastsession_shim", "FastSessionNative_SslSessionFree", UpRefEntryPoint = "FastSessionNative_SslSessionUpRef")]
    public readonly partial struct SslSession
    {
        /// <summary>SSL_SESSION_is_resumable.</summary>
        public bool IsResumable => SessionNative.SessionIsResumable(this) != 0;
    }
}
