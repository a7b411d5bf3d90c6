using System;
using System.Collections.Generic;
using System.Security.Cryptography.X509Certificates;

namespace FastSession;

/// <summary>Settings shared by client and server contexts.</summary>
public abstract partial class SslContextOptions
{
    /// <summary>Lowest protocol to negotiate (<c>SSL_CTX_set_min_proto_version</c>). Default TLS 1.2.</summary>
    public TlsVersion MinVersion { get; set; } = TlsVersion.Tls12;

    /// <summary>Highest protocol to negotiate (<c>SSL_CTX_set_max_proto_version</c>). Default TLS 1.3.</summary>
    public TlsVersion MaxVersion { get; set; } = TlsVersion.Tls13;

    /// <summary>Session tickets (RFC 5077 / TLS 1.3 tickets); false sets <c>SSL_OP_NO_TICKET</c>. Default true.</summary>
    public bool EnableTickets { get; set; } = true;

    /// <summary>Maximum sessions in the internal cache (<c>SSL_CTX_sess_set_cache_size</c>); 0 keeps OpenSSL's default.</summary>
    public int SessionCacheSize { get; set; }

    /// <summary>
    /// Session lifetime (<c>SSL_CTX_set_timeout</c>); zero keeps OpenSSL's default, 7200 s (two hours) for
    /// TLS 1.2 and TLS 1.3 contexts alike (<c>SSL_CTX_get_timeout</c> of a new <c>TLS_method</c> context).
    /// </summary>
    public TimeSpan SessionTimeout { get; set; }

    /// <summary>ALPN protocols in preference order (<c>SSL_CTX_set_alpn_protos</c> / the shim's select callback).</summary>
    public IList<string> ApplicationProtocols { get; } = new List<string>();

    /// <summary>
    /// Certificates to trust as issuers of the peer's certificate, in PEM (one or more <c>BEGIN CERTIFICATE</c>
    /// blocks; <c>X509_STORE_add_cert</c>), in addition to <see cref="TrustedCertificates"/>, the file and directory
    /// below and, on clients, the system trust store. A client verifies the server against them; a server verifies
    /// client certificates against them (and names them in its CertificateRequest).
    /// </summary>
    public string? TrustedCertificatesPem { get; set; }

    /// <summary>Certificates to trust as issuers (only their public part is used; <c>X509_STORE_add_cert</c>).</summary>
    public X509Certificate2Collection TrustedCertificates { get; } = new();

    /// <summary>A PEM file of trusted certificates (<c>SSL_CTX_load_verify_file</c>, as <c>openssl s_client -CAfile</c>).</summary>
    public string? TrustedCertificatesFile { get; set; }

    /// <summary>A directory of trusted certificates named by subject hash (<c>SSL_CTX_load_verify_dir</c>, as <c>-CApath</c>;
    /// see <c>openssl rehash</c>).</summary>
    public string? TrustedCertificatesDirectory { get; set; }

    internal bool HasExplicitTrust =>
        !string.IsNullOrEmpty(TrustedCertificatesPem) || TrustedCertificates.Count > 0 ||
        TrustedCertificatesFile is not null || TrustedCertificatesDirectory is not null;

    internal virtual void Validate()
    {
        if (MinVersion is not (TlsVersion.Tls12 or TlsVersion.Tls13) || MaxVersion is not (TlsVersion.Tls12 or TlsVersion.Tls13))
        {
            throw new ArgumentException("MinVersion and MaxVersion must be TlsVersion.Tls12 or TlsVersion.Tls13.");
        }
        if (MinVersion > MaxVersion)
        {
            throw new ArgumentException($"MinVersion ({MinVersion}) is above MaxVersion ({MaxVersion}).");
        }
        if (SessionCacheSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SessionCacheSize), SessionCacheSize, "The session cache size cannot be negative.");
        }
        if (SessionTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(SessionTimeout), SessionTimeout, "The session timeout cannot be negative.");
        }
        foreach (string protocol in ApplicationProtocols)
        {
            if (string.IsNullOrEmpty(protocol) || protocol.Length > 255)
            {
                throw new ArgumentException("Each ALPN protocol must be 1 to 255 characters.", nameof(ApplicationProtocols));
            }
        }
    }
}

/// <summary>Options for <see cref="SslContext.CreateClient(SslClientOptions?)"/>.</summary>
/// <remarks>
/// Secure by default: the server's certificate chain is verified (<c>SSL_VERIFY_PEER</c>) against the system trust
/// store (<see cref="UseSystemTrustStore"/>) plus any trusted certificates given here, and its names are checked
/// against the connection's server name (<c>SSL_set1_host</c>, or the IP address check for an IP literal). A
/// failure ends the handshake with an <see cref="SslHandshakeException"/> whose message names the reason
/// (untrusted root, expired, the expected name and the names the certificate holds).
/// <see cref="DangerousAcceptAnyServerCertificate"/> is the only way to turn this off.
/// </remarks>
public sealed class SslClientOptions : SslContextOptions
{
    /// <summary>
    /// Trust OpenSSL's default verify paths (what <c>SSL_CTX_set_default_verify_paths</c> trusts): the system store, or
    /// what the <c>SSL_CERT_FILE</c> / <c>SSL_CERT_DIR</c> environment variables point to when set (that is how OpenSSL's
    /// defaults are overridden for one process). The bundle file is parsed once per process, when the first context
    /// that uses it is created, and shared by reference (bench/RESULTS.md: ~2 ms per context instead of ~90 ms); the
    /// directory is searched by subject hash during verification. Default true.
    /// </summary>
    public bool UseSystemTrustStore { get; set; } = true;

    /// <summary>
    /// Skips every check of the server's certificate: no chain, no name, no callback (<c>SSL_VERIFY_NONE</c>).
    /// Anyone on the path can then impersonate the server. Default false; meant for tests and lab tools only.
    /// </summary>
    public bool DangerousAcceptAnyServerCertificate { get; set; }

    /// <summary>
    /// Called after OpenSSL verified the server's certificate and before the handshake goes on, with OpenSSL's
    /// verdict; returns true to accept, false to reject — e.g. to pin a certificate, or to accept a known
    /// self-signed one. It runs on the thread of the call that drives the handshake (<see cref="SslConnection.Handshake"/>, or a
    /// <see cref="SslConnection.Read"/> or <see cref="SslConnection.Write"/> that starts it implicitly), outside OpenSSL: the shim pauses the
    /// handshake (<c>SSL_set_retry_verify</c>), the callback decides, the handshake resumes. When null, OpenSSL's
    /// verdict stands. An exception thrown by the callback rejects the certificate.
    /// </summary>
    public SslCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>Client certificate for mutual TLS, with its private key (exported to OpenSSL as PEM).</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>Client certificate (chain) for mutual TLS in PEM, with <see cref="ClientPrivateKeyPem"/>.</summary>
    public string? ClientCertificatePem { get; set; }

    /// <summary>The private key of <see cref="ClientCertificatePem"/> in PEM (unencrypted).</summary>
    public string? ClientPrivateKeyPem { get; set; }

    internal override void Validate()
    {
        base.Validate();
        if ((ClientCertificatePem is null) != (ClientPrivateKeyPem is null))
        {
            throw new ArgumentException("Give both ClientCertificatePem and ClientPrivateKeyPem, or neither.");
        }
        if (ClientCertificate is not null && ClientCertificatePem is not null)
        {
            throw new ArgumentException("Give ClientCertificate or ClientCertificatePem, not both.");
        }
        if (ClientCertificate is not null && !ClientCertificate.HasPrivateKey)
        {
            throw new ArgumentException("ClientCertificate has no private key.", nameof(ClientCertificate));
        }
        if (DangerousAcceptAnyServerCertificate && ServerCertificateValidation is not null)
        {
            throw new ArgumentException("DangerousAcceptAnyServerCertificate skips verification, so ServerCertificateValidation would never run; set one or the other.");
        }
        if (!DangerousAcceptAnyServerCertificate && !UseSystemTrustStore && !HasExplicitTrust && ServerCertificateValidation is null)
        {
            throw new ArgumentException("UseSystemTrustStore is false and no trusted certificate (or ServerCertificateValidation) is given: no server could ever be verified.");
        }
    }
}

/// <summary>Whether a server asks for client certificates (mutual TLS); the names of Kestrel's <c>ClientCertificateMode</c>.</summary>
public enum SslClientCertificateMode
{
    /// <summary>No certificate is requested (<c>SSL_VERIFY_NONE</c>). Default.</summary>
    NoCertificate,
    /// <summary>A certificate is requested; a client may send none, but one it sends must verify (<c>SSL_VERIFY_PEER</c>).</summary>
    AllowCertificate,
    /// <summary>A verified certificate is required (<c>SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT</c>).</summary>
    RequireCertificate,
}

/// <summary>Options for <see cref="SslContext.CreateServer(SslServerOptions?)"/>.</summary>
public sealed partial class SslServerOptions : SslContextOptions
{
    /// <summary>The certificate (chain) in PEM; null generates an ephemeral self-signed ECDSA P-256 one.</summary>
    public string? CertificatePem { get; set; }

    /// <summary>The private key in PEM (with <see cref="CertificatePem"/>).</summary>
    public string? PrivateKeyPem { get; set; }

    /// <summary>The certificate with its private key, the way .NET holds them (exported to OpenSSL as PEM).
    /// Instead of <see cref="CertificatePem"/>.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>
    /// Certificates by SNI host name ("api.example", or "*.example" for one label), chosen per connection from the
    /// name the client sends; other names (and no name) get the default certificate. Each name gets its own
    /// <c>SSL_CTX</c>, built before the first handshake; the shim's servername callback switches the connection
    /// to it (<c>SSL_set_SSL_CTX</c>), while sessions and tickets stay those of this context: a session from one
    /// name resumes on another served by the same context.
    /// </summary>
    public IDictionary<string, SslServerCertificate> CertificatesByServerName { get; } = new Dictionary<string, SslServerCertificate>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Client certificates (mutual TLS): none (default), allowed, or required; verified against the
    /// trusted certificates of these options (and the system store when <see cref="UseSystemTrustStore"/>).</summary>
    public SslClientCertificateMode ClientCertificateMode { get; set; }

    /// <summary>Also trust OpenSSL's default verify paths for client certificates. Default false: client
    /// certificates usually come from a private CA.</summary>
    public bool UseSystemTrustStore { get; set; }

    /// <summary>Common name of the ephemeral certificate. Default "localhost".</summary>
    public string EphemeralCommonName { get; set; } = "localhost";

    /// <summary>TLS 1.3 tickets sent after each handshake (<c>SSL_CTX_set_num_tickets</c>). Default 2, as OpenSSL.</summary>
    public int TicketCount { get; set; } = 2;

    internal override void Validate()
    {
        base.Validate();
        if ((CertificatePem is null) != (PrivateKeyPem is null))
        {
            throw new ArgumentException("Give both CertificatePem and PrivateKeyPem, or neither for an ephemeral certificate.");
        }
        if (Certificate is not null && CertificatePem is not null)
        {
            throw new ArgumentException("Give Certificate or CertificatePem, not both.");
        }
        if (Certificate is not null && !Certificate.HasPrivateKey)
        {
            throw new ArgumentException("Certificate has no private key.", nameof(Certificate));
        }
        if (ClientCertificateMode is < SslClientCertificateMode.NoCertificate or > SslClientCertificateMode.RequireCertificate)
        {
            throw new ArgumentOutOfRangeException(nameof(ClientCertificateMode), ClientCertificateMode, "Unknown client certificate mode.");
        }
        if (ClientCertificateMode != SslClientCertificateMode.NoCertificate && !UseSystemTrustStore && !HasExplicitTrust)
        {
            throw new ArgumentException("ClientCertificateMode asks for client certificates, but nothing is trusted to verify them: set TrustedCertificatesPem, TrustedCertificates, TrustedCertificatesFile/Directory or UseSystemTrustStore.");
        }
        foreach (KeyValuePair<string, SslServerCertificate> entry in CertificatesByServerName)
        {
            if (string.IsNullOrEmpty(entry.Key) || entry.Key.Length > 255 || entry.Key.Contains('\0', StringComparison.Ordinal) || entry.Value is null)
            {
                throw new ArgumentException("Each CertificatesByServerName entry needs a host name of 1 to 255 characters without NUL and a certificate.", nameof(CertificatesByServerName));
            }
        }
        if (TicketCount is < 0 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(TicketCount), TicketCount, "TicketCount must be between 0 and 16.");
        }
    }
}
