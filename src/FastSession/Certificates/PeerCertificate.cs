using System;
using System.Text;
using FastSession.Interop;

namespace FastSession;

/// <summary>
/// A borrowed view of the peer's certificate (<c>SSL_get0_peer_certificate</c>): the second get0/get1
/// ownership pair, generated the same way as <see cref="SslSessionRef"/>, bound to the same epoch and read under
/// the same reader lease on the connection (so a handshake, shutdown, reset or dispose on another thread can never
/// free the certificate while it is encoded).
/// </summary>
[BorrowedView(typeof(SslConnection), "fastsession_shim", UpRefEntryPoint = "FastSessionNative_X509UpRef", OwnedType = typeof(PeerCertificate))]
public readonly unsafe ref partial struct PeerCertificateRef
{
    /// <summary>The subject name (<c>X509_NAME_oneline(X509_get_subject_name)</c>).</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale, or another thread is running an engine call on the connection.</exception>
    public string Subject
    {
        get
        {
            using Lease lease = Enter();
            return CertificateText.Subject(lease.Pointer);
        }
    }

    /// <summary>The certificate as DER (<c>i2d_X509</c>).</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale, or another thread is running an engine call on the connection.</exception>
    public byte[] GetRawData()
    {
        using Lease lease = Enter();
        return CertificateText.Der(lease.Pointer);
    }
}

/// <summary>
/// An owned reference to the peer's certificate (<c>SSL_get1_peer_certificate</c>), freed once with
/// <c>X509_free</c> by <see cref="Dispose"/>; pooled like <see cref="SslSession"/>.
/// </summary>
[OwnedHandle("fastsession_shim", "FastSessionNative_X509Free", UpRefEntryPoint = "FastSessionNative_X509UpRef")]
public readonly unsafe partial struct PeerCertificate
{
    /// <summary>The subject name (<c>X509_NAME_oneline(X509_get_subject_name)</c>).</summary>
    public string Subject
    {
        get
        {
            using var lease = Enter();
            return CertificateText.Subject(lease.Pointer);
        }
    }

    /// <summary>The certificate as DER (<c>i2d_X509</c>).</summary>
    public byte[] GetRawData()
    {
        using var lease = Enter();
        return CertificateText.Der(lease.Pointer);
    }
}

internal static unsafe class CertificateText
{
    internal static string Subject(nint certificate)
    {
        byte* buffer = stackalloc byte[512];
        int length = CertificateNative.X509GetSubjectName(certificate, buffer, 512);
        return Encoding.UTF8.GetString(buffer, Math.Clamp(length, 0, 511));
    }

    internal static byte[] Der(nint certificate)
    {
        int needed = 0;
        int length = CertificateNative.I2dX509(certificate, null, 0, &needed);
        if (length != ShimConstants.ErrBufferTooSmall && length < 0)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("i2d_X509"));
        }
        byte[] der = new byte[needed];
        fixed (byte* d = der)
        {
            length = CertificateNative.I2dX509(certificate, d, der.Length, &needed);
        }
        if (length < 0)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("i2d_X509"));
        }
        return der;
    }
}
