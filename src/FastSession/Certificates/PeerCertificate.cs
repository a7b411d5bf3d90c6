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
public readonly ref partial struct PeerCertificateRef
{
    /// <summary>The subject name (<c>X509_NAME_oneline(X509_get_subject_name)</c>).</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale, or another thread is running an engine call on the connection.</exception>
    public string Subject
    {
        get
        {
            Span<byte> buffer = stackalloc byte[CertificateText.SubjectCapacity];
            return CertificateText.Subject(buffer, CertificateNative.X509GetSubjectName(this, buffer, buffer.Length));
        }
    }

    /// <summary>The certificate as DER (<c>i2d_X509</c>).</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale (also when the certificate changed between the size
    /// query and the copy), or another thread is running an engine call on the connection, or <c>i2d_X509</c> failed.</exception>
    public byte[] GetRawData()
    {
        byte[] der = CertificateText.DerBuffer(CertificateNative.I2dX509(this, default, 0, out int needed), needed);
        return CertificateText.Der(der, CertificateNative.I2dX509(this, der, der.Length, out _));
    }
}

/// <summary>
/// An owned reference to the peer's certificate (<c>SSL_get1_peer_certificate</c>), freed once with
/// <c>X509_free</c> by <see cref="Dispose"/>; pooled like <see cref="SslSession"/>.
/// </summary>
[OwnedHandle("fastsession_shim", "FastSessionNative_X509Free", UpRefEntryPoint = "FastSessionNative_X509UpRef")]
public readonly partial struct PeerCertificate
{
    /// <summary>The subject name (<c>X509_NAME_oneline(X509_get_subject_name)</c>).</summary>
    /// <exception cref="ObjectDisposedException">The certificate was disposed.</exception>
    public string Subject
    {
        get
        {
            Span<byte> buffer = stackalloc byte[CertificateText.SubjectCapacity];
            return CertificateText.Subject(buffer, CertificateNative.X509GetSubjectName(this, buffer, buffer.Length));
        }
    }

    /// <summary>The certificate as DER (<c>i2d_X509</c>).</summary>
    /// <exception cref="ObjectDisposedException">The certificate was disposed.</exception>
    /// <exception cref="InvalidOperationException"><c>i2d_X509</c> failed.</exception>
    public byte[] GetRawData()
    {
        byte[] der = CertificateText.DerBuffer(CertificateNative.I2dX509(this, default, 0, out int needed), needed);
        return CertificateText.Der(der, CertificateNative.I2dX509(this, der, der.Length, out _));
    }
}

/// <summary>What both certificate types do with the bytes the shim wrote (the native calls are typed, one per type).</summary>
internal static class CertificateText
{
    internal const int SubjectCapacity = 512;

    internal static string Subject(ReadOnlySpan<byte> buffer, int length)
        => Encoding.UTF8.GetString(buffer[..Math.Clamp(length, 0, buffer.Length - 1)]);

    /// <summary>The buffer for the DER after a size query (i2d_X509 with no buffer).</summary>
    internal static byte[] DerBuffer(int length, int needed)
    {
        if (length != ShimConstants.ErrBufferTooSmall && length < 0)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("i2d_X509"));
        }
        return new byte[needed];
    }

    internal static byte[] Der(byte[] der, int length)
        => length < 0 ? throw new InvalidOperationException(OpenSslError.ReasonOr("i2d_X509")) : der;
}
