using System;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastSession.Tests.Security;

/// <summary>A certificate and its unencrypted PKCS#8 private key, as PEM text.</summary>
public sealed record PemPair(string CertificatePem, string KeyPem)
{
    /// <summary>A new X509Certificate2 with its private key; the caller disposes it (the shim counts live X509s).</summary>
    public X509Certificate2 ToCertificate() => X509Certificate2.CreateFromPem(CertificatePem, KeyPem);
}

/// <summary>
/// A small test PKI made once per process with .NET's CertificateRequest: a CA, leaves it signed (server names,
/// an expired one, a client certificate), all ECDSA P-256. Only PEM text is kept, so nothing here holds an X509.
/// </summary>
public static class SecurityPki
{
    private static readonly Lazy<Pki> Instance = new(Create);

    public static PemPair Ca => Instance.Value.Ca;

    /// <summary>CN=localhost, DNS:localhost and IP:127.0.0.1, signed by <see cref="Ca"/>.</summary>
    public static PemPair Localhost => Instance.Value.Localhost;

    /// <summary>CN=localhost signed by <see cref="Ca"/>, expired yesterday.</summary>
    public static PemPair ExpiredLocalhost => Instance.Value.Expired;

    /// <summary>CN=fastsession-client (clientAuth), signed by <see cref="Ca"/>.</summary>
    public static PemPair Client => Instance.Value.Client;

    /// <summary>DNS:api.test, signed by <see cref="Ca"/>.</summary>
    public static PemPair Api => Instance.Value.Api;

    /// <summary>DNS:*.wild.test, signed by <see cref="Ca"/>.</summary>
    public static PemPair Wildcard => Instance.Value.Wildcard;

    /// <summary>A second, unrelated CA (its leaves must not verify against <see cref="Ca"/>).</summary>
    public static PemPair OtherCa => Instance.Value.OtherCa;

    private sealed record Pki(PemPair Ca, PemPair Localhost, PemPair Expired, PemPair Client, PemPair Api, PemPair Wildcard, PemPair OtherCa);

    private static Pki Create()
    {
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var caRequest = new CertificateRequest("CN=FastSession Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(now.AddDays(-2), now.AddDays(30));
        var caPair = new PemPair(ca.ExportCertificatePem(), caKey.ExportPkcs8PrivateKeyPem());

        PemPair Leaf(string cn, string[] dns, IPAddress[] ips, bool client, DateTimeOffset from, DateTimeOffset to, byte serial)
        {
            using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=" + cn, key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            foreach (string d in dns)
            {
                san.AddDnsName(d);
            }
            foreach (IPAddress ip in ips)
            {
                san.AddIpAddress(ip);
            }
            if (dns.Length + ips.Length > 0)
            {
                request.CertificateExtensions.Add(san.Build());
            }
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                new OidCollection { new Oid(client ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1") }, false));
            using X509Certificate2 leaf = request.Create(ca, from, to, new byte[] { 0x10, serial });
            return new PemPair(leaf.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        }

        PemPair localhost = Leaf("localhost", new[] { "localhost" }, new[] { IPAddress.Loopback }, false, now.AddHours(-1), now.AddDays(7), 1);
        PemPair expired = Leaf("localhost", new[] { "localhost" }, Array.Empty<IPAddress>(), false, now.AddDays(-2), now.AddDays(-1), 2);
        PemPair client = Leaf("fastsession-client", Array.Empty<string>(), Array.Empty<IPAddress>(), true, now.AddHours(-1), now.AddDays(7), 3);
        PemPair api = Leaf("api.test", new[] { "api.test" }, Array.Empty<IPAddress>(), false, now.AddHours(-1), now.AddDays(7), 4);
        PemPair wildcard = Leaf("*.wild.test", new[] { "*.wild.test" }, Array.Empty<IPAddress>(), false, now.AddHours(-1), now.AddDays(7), 5);

        using ECDsa otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var otherRequest = new CertificateRequest("CN=Other Test CA", otherKey, HashAlgorithmName.SHA256);
        otherRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 other = otherRequest.CreateSelfSigned(now.AddDays(-2), now.AddDays(30));
        var otherPair = new PemPair(other.ExportCertificatePem(), otherKey.ExportPkcs8PrivateKeyPem());

        return new Pki(caPair, localhost, expired, client, api, wildcard, otherPair);
    }

    public static SslServerOptions Server(PemPair pair, TlsVersion version) => new()
    {
        MinVersion = version,
        MaxVersion = version,
        CertificatePem = pair.CertificatePem,
        PrivateKeyPem = pair.KeyPem,
    };

    /// <summary>A verifying client that trusts only <see cref="Ca"/> (not the system store, so results do not depend on the machine).</summary>
    public static SslClientOptions ClientTrustingCa(TlsVersion version) => new()
    {
        MinVersion = version,
        MaxVersion = version,
        UseSystemTrustStore = false,
        TrustedCertificatesPem = Ca.CertificatePem,
    };
}
