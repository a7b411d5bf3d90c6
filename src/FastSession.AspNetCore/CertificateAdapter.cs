using System;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastSession.AspNetCore;

// ADAPTER (switch over at merge): SslServerOptions on main takes PEM text only. Until the `secure` work (X509Certificate2
// server certificates) lands, the certificate and its key are exported to PEM here, in memory, once per certificate.
internal static class CertificateAdapter
{
    public static SslServerOptions ToServerOptions(X509Certificate2 certificate, FastSessionServerOptions options, string[] alpn)
    {
        (TlsVersion min, TlsVersion max) = options.Versions();
        var server = new SslServerOptions
        {
            CertificatePem = certificate.ExportCertificatePem(),
            PrivateKeyPem = ExportKey(certificate),
            MinVersion = min,
            MaxVersion = max,
            TicketCount = options.TicketCount,
            SessionTimeout = options.SessionTimeout,
            EnableTickets = options.EnableTickets,
        };
        foreach (string protocol in alpn)
        {
            server.ApplicationProtocols.Add(protocol);
        }
        return server;
    }

    private static string ExportKey(X509Certificate2 certificate)
    {
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException($"The server certificate {certificate.Subject} has no private key.");
        }
        using ECDsa? ec = certificate.GetECDsaPrivateKey();
        if (ec is not null)
        {
            return ec.ExportPkcs8PrivateKeyPem();
        }
        using RSA? rsa = certificate.GetRSAPrivateKey();
        if (rsa is not null)
        {
            return rsa.ExportPkcs8PrivateKeyPem();
        }
        throw new NotSupportedException($"The key of {certificate.Subject} is neither ECDSA nor RSA.");
    }
}
