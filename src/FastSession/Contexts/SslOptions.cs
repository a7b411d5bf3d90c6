using System;
using System.Collections.Generic;

namespace FastSession;

/// <summary>Settings shared by client and server contexts.</summary>
public abstract class SslContextOptions
{
    /// <summary>Lowest protocol to negotiate (<c>SSL_CTX_set_min_proto_version</c>). Default TLS 1.2.</summary>
    public TlsVersion MinVersion { get; set; } = TlsVersion.Tls12;

    /// <summary>Highest protocol to negotiate (<c>SSL_CTX_set_max_proto_version</c>). Default TLS 1.3.</summary>
    public TlsVersion MaxVersion { get; set; } = TlsVersion.Tls13;

    /// <summary>Session tickets (RFC 5077 / TLS 1.3 tickets); false sets <c>SSL_OP_NO_TICKET</c>. Default true.</summary>
    public bool EnableTickets { get; set; } = true;

    /// <summary>Maximum sessions in the internal cache (<c>SSL_CTX_sess_set_cache_size</c>); 0 keeps OpenSSL's default.</summary>
    public int SessionCacheSize { get; set; }

    /// <summary>Session lifetime (<c>SSL_CTX_set_timeout</c>); zero keeps OpenSSL's default (300 s).</summary>
    public TimeSpan SessionTimeout { get; set; }

    /// <summary>ALPN protocols in preference order (<c>SSL_CTX_set_alpn_protos</c> / the shim's select callback).</summary>
    public IList<string> ApplicationProtocols { get; } = new List<string>();

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
public sealed class SslClientOptions : SslContextOptions
{
    /// <summary>
    /// Verify the server's certificate (<c>SSL_VERIFY_PEER</c>) against <see cref="TrustedCertificatesPem"/>.
    /// Default false: FastSession's own tests and tools talk to ephemeral self-signed servers.
    /// The chain is verified; the host name is not (no <c>SSL_set1_host</c> yet) — pin the certificate
    /// through <see cref="SslConnection.TryAcquirePeerCertificate"/> when the name matters.
    /// </summary>
    public bool VerifyPeer { get; set; }

    /// <summary>PEM certificates trusted when <see cref="VerifyPeer"/> is set.</summary>
    public string? TrustedCertificatesPem { get; set; }

    internal override void Validate()
    {
        base.Validate();
        if (VerifyPeer && string.IsNullOrEmpty(TrustedCertificatesPem))
        {
            throw new ArgumentException("VerifyPeer needs TrustedCertificatesPem (the PEM certificates to trust).");
        }
    }
}

/// <summary>Options for <see cref="SslContext.CreateServer(SslServerOptions?)"/>.</summary>
public sealed class SslServerOptions : SslContextOptions
{
    /// <summary>The certificate (chain) in PEM; null generates an ephemeral self-signed ECDSA P-256 one.</summary>
    public string? CertificatePem { get; set; }

    /// <summary>The private key in PEM (with <see cref="CertificatePem"/>).</summary>
    public string? PrivateKeyPem { get; set; }

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
        if (TicketCount is < 0 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(TicketCount), TicketCount, "TicketCount must be between 0 and 16.");
        }
    }
}
