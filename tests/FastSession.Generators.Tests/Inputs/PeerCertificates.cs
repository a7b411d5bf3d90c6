using FastSession.Interop;

namespace FastSession
{
    /// <summary>A borrowed X509 (SSL_get0_peer_certificate).</summary>
    [BorrowedView(typeof(SslConnection), "fastsession_shim", UpRefEntryPoint = "FastSessionNative_X509UpRef", OwnedType = typeof(PeerCertificate))]
    public readonly ref partial struct PeerCertificateRef
    {
    }

    /// <summary>An owned X509 (SSL_get1_peer_certificate), freed once with X509_free.</summary>
    [OwnedHandle("fastsession_shim", "FastSessionNative_X509Free", UpRefEntryPoint = "FastSessionNative_X509UpRef")]
    public readonly partial struct PeerCertificate
    {
    }
}
