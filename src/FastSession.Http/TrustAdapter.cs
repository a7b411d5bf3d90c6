using System;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FastSession.Http;

// ADAPTER (switch over at merge): FastSession's SslClientOptions on main verifies a chain against PEM it is given and checks
// no host name. Until the `secure` work (system trust store and SSL_set1_host on SslClientOptions) lands, this file exports
// the system trust store to PEM once, and checks the name in managed code after the handshake.
internal static class TrustAdapter
{
    private static readonly Lazy<string> SystemRootsPem = new(ExportSystemRoots);

    public static string TrustedPem(X509Certificate2Collection? trusted)
    {
        if (trusted is null)
        {
            return SystemRootsPem.Value;
        }
        var pem = new StringBuilder();
        foreach (X509Certificate2 certificate in trusted)
        {
            pem.Append(certificate.ExportCertificatePem()).Append('\n');
        }
        if (pem.Length == 0)
        {
            throw new ArgumentException("TrustedCertificates is empty: give at least one certificate, or null for the system trust store.");
        }
        return pem.ToString();
    }

    // The peer certificate of a resumed session is the one of the original handshake (kept in the SSL_SESSION), so the
    // name check holds for resumed connections too.
    public static void CheckName(FastSslStream stream, string host)
    {
        byte[] der;
        if (!stream.Connection.TryBorrowPeerCertificate(out PeerCertificateRef certificate))
        {
            throw new System.Security.Authentication.AuthenticationException($"The server at {host} sent no certificate.");
        }
        der = certificate.GetRawData();
        using X509Certificate2 x509 = X509CertificateLoader.LoadCertificate(der);
        if (!x509.MatchesHostname(host))
        {
            throw new System.Security.Authentication.AuthenticationException(
                $"The server certificate ({x509.Subject}) does not match the host name '{host}'.");
        }
    }

    private static string ExportSystemRoots()
    {
        using var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine);
        store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
        var pem = new StringBuilder();
        foreach (X509Certificate2 certificate in store.Certificates)
        {
            pem.Append(certificate.ExportCertificatePem()).Append('\n');
            certificate.Dispose();
        }
        if (pem.Length == 0)
        {
            throw new InvalidOperationException("The system trust store is empty: set TrustedCertificates, or install ca-certificates.");
        }
        return pem.ToString();
    }
}
