using System;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FastSession.Interop;

namespace FastSession;

/// <summary>
/// Decides whether a server certificate is accepted, in the spirit of <see cref="RemoteCertificateValidationCallback"/>:
/// it sees OpenSSL's verdict and the chain, and returns true to accept or false to reject. Runs outside OpenSSL, on the
/// thread of the handshake call, while the handshake is paused (<c>SSL_set_retry_verify</c>).
/// </summary>
/// <param name="connection">The connection being verified. Its read-only members may be used; engine calls throw.</param>
/// <param name="validation">OpenSSL's verdict and the certificates; valid only during the call.</param>
public delegate bool SslCertificateValidationCallback(SslConnection connection, SslCertificateValidation validation);

/// <summary>
/// What OpenSSL's verification of a peer certificate found (<c>X509_verify_cert</c> run by the shim's certificate
/// verify callback), handed to a <see cref="SslCertificateValidationCallback"/>. The <see cref="X509Certificate2"/>
/// objects it creates are disposed when the callback returns: keep <see cref="GetCertificateDer"/> bytes instead.
/// </summary>
public sealed class SslCertificateValidation
{
    private readonly byte[][] _chain;
    private X509Certificate2? _certificate;
    private X509Certificate2Collection? _collection;

    internal SslCertificateValidation(string? serverName, SslPolicyErrors errors, int verifyError, int depth, string description, byte[][] chain)
    {
        ServerName = serverName;
        PolicyErrors = errors;
        VerifyError = verifyError;
        ErrorDepth = depth;
        VerifyErrorDescription = description;
        _chain = chain;
    }

    /// <summary>The name the certificate was checked against (the connection's server name), or null.</summary>
    public string? ServerName { get; }

    /// <summary>The classes of errors found: <see cref="SslPolicyErrors.RemoteCertificateChainErrors"/> (untrusted,
    /// expired, bad signature ...), <see cref="SslPolicyErrors.RemoteCertificateNameMismatch"/>, or None.</summary>
    public SslPolicyErrors PolicyErrors { get; }

    /// <summary>OpenSSL's first verification error (<c>X509_V_ERR_*</c>; 0 = <c>X509_V_OK</c>).</summary>
    public int VerifyError { get; }

    /// <summary><c>X509_verify_cert_error_string</c> of <see cref="VerifyError"/>, e.g. "self-signed certificate".</summary>
    public string VerifyErrorDescription { get; }

    /// <summary>Depth in the chain of the first error (0 = the peer's own certificate), -1 when none.</summary>
    public int ErrorDepth { get; }

    /// <summary>Certificates of the chain OpenSSL built (<c>X509_STORE_CTX_get1_chain</c>), the peer's first.</summary>
    public int ChainLength => _chain.Length;

    /// <summary>The DER bytes of the chain's certificate at <paramref name="index"/> (0 = the peer's).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside the chain.</exception>
    public byte[] GetCertificateDer(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _chain.Length);
        return (byte[])_chain[index].Clone();
    }

    /// <summary>The peer's certificate, or null when none was recorded; disposed after the callback.</summary>
    public X509Certificate2? Certificate => _certificate ??= _chain.Length > 0 ? X509CertificateLoader.LoadCertificate(_chain[0]) : null;

    /// <summary>The chain, the peer's certificate first; disposed after the callback.</summary>
    public X509Certificate2Collection Chain
    {
        get
        {
            if (_collection is null)
            {
                _collection = new X509Certificate2Collection();
                foreach (byte[] der in _chain)
                {
                    _collection.Add(X509CertificateLoader.LoadCertificate(der));
                }
            }
            return _collection;
        }
    }

    internal void Release()
    {
        _certificate?.Dispose();
        if (_collection is not null)
        {
            foreach (X509Certificate2 c in _collection)
            {
                c.Dispose();
            }
        }
    }
}

/// <summary>A server certificate with its private key, for <see cref="SslServerOptions.CertificatesByServerName"/>.</summary>
public sealed class SslServerCertificate
{
    private SslServerCertificate(X509Certificate2? certificate, string? certificatePem, string? privateKeyPem)
    {
        Certificate = certificate;
        CertificatePem = certificatePem;
        PrivateKeyPem = privateKeyPem;
    }

    internal X509Certificate2? Certificate { get; }
    internal string? CertificatePem { get; }
    internal string? PrivateKeyPem { get; }

    /// <summary>From PEM text: the certificate (then its chain) and the unencrypted private key.</summary>
    /// <exception cref="ArgumentException">Either text is empty.</exception>
    public static SslServerCertificate FromPem(string certificatePem, string privateKeyPem)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePem);
        ArgumentException.ThrowIfNullOrEmpty(privateKeyPem);
        return new SslServerCertificate(null, certificatePem, privateKeyPem);
    }

    /// <summary>From a certificate with its private key (exported to OpenSSL when the context is built).</summary>
    /// <exception cref="ArgumentException">The certificate has no private key.</exception>
    public static SslServerCertificate FromCertificate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("The certificate has no private key.", nameof(certificate));
        }
        return new SslServerCertificate(certificate, null, null);
    }
}

/// <summary>Turns .NET certificates into the PEM OpenSSL loads, wiping the key bytes after use.</summary>
internal static class CertificatePem
{
    internal static byte[] PublicPem(X509Certificate2 certificate) => Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n");

    /// <summary>The PKCS#8 PEM of the certificate's private key. The caller wipes the array.</summary>
    /// <exception cref="ArgumentException">The key cannot be exported or is of an unsupported kind.</exception>
    internal static byte[] PrivateKeyPem(X509Certificate2 certificate)
    {
        AsymmetricAlgorithm? key = null;
        byte[]? der = null;
        char[]? chars = null;
        try
        {
            key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? (AsymmetricAlgorithm?)certificate.GetRSAPrivateKey() ??
                (AsymmetricAlgorithm?)certificate.GetECDiffieHellmanPrivateKey();
            if (key is null)
            {
                throw new ArgumentException($"The private key of '{certificate.Subject}' is not an ECDSA or RSA key OpenSSL can use here.");
            }
            der = key.ExportPkcs8PrivateKey();
            chars = PemEncoding.Write("PRIVATE KEY", der);
            return Encoding.ASCII.GetBytes(chars);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"The private key of '{certificate.Subject}' cannot be exported to OpenSSL: {e.Message}", e);
        }
        finally
        {
            if (der is not null)
            {
                CryptographicOperations.ZeroMemory(der);
            }
            if (chars is not null)
            {
                Array.Clear(chars);
            }
            key?.Dispose();
        }
    }
}
