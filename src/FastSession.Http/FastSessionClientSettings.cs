using System;
using System.Collections.Generic;
using System.Security.Cryptography.X509Certificates;

namespace FastSession.Http;

/// <summary>
/// TLS settings of a <see cref="FastSessionConnector"/> (and so of a <see cref="FastSessionHttpHandler"/>). The defaults are
/// the secure ones: the server's chain is verified against the system trust store and its name against the request's host.
/// </summary>
public sealed class FastSessionClientSettings
{
    /// <summary>Lowest protocol (<c>SSL_CTX_set_min_proto_version</c>). Default TLS 1.2.</summary>
    public TlsVersion MinVersion { get; set; } = TlsVersion.Tls12;

    /// <summary>Highest protocol (<c>SSL_CTX_set_max_proto_version</c>). Default TLS 1.3.</summary>
    public TlsVersion MaxVersion { get; set; } = TlsVersion.Tls13;

    /// <summary>
    /// Offer ALPN h2 on connections opened for requests that may use HTTP/2 (request version 2.0 or policy RequestVersionOrHigher),
    /// so SocketsHttpHandler speaks HTTP/2 when the server picks it. Default true. Connections for HTTP/1.x requests offer http/1.1.
    /// </summary>
    public bool EnableHttp2 { get; set; } = true;

    /// <summary>
    /// Verify the server's certificate chain (<c>SSL_VERIFY_PEER</c>) and name. Default true. False is the explicit opt-out
    /// (the equivalent of <c>DangerousAcceptAnyServerCertificate</c>).
    /// </summary>
    public bool ValidateServerCertificate { get; set; } = true;

    /// <summary>Check the certificate's names against the request host (<c>X509_check_host</c> semantics). Default true.</summary>
    public bool CheckCertificateName { get; set; } = true;

    /// <summary>
    /// Certificates to trust instead of the system trust store (like <c>X509ChainPolicy.CustomTrustStore</c>); null (the default)
    /// trusts the system store.
    /// </summary>
    public X509Certificate2Collection? TrustedCertificates { get; set; }

    /// <summary>
    /// A session cache to share (between handlers, or with a YARP factory); null makes the connector own a new in-memory one.
    /// A shared cache is not disposed by the connector.
    /// </summary>
    public SslClientSessionCache? SessionCache { get; set; }

    /// <summary>TLS 1.2 sessions and TLS 1.3 tickets: false sets <c>SSL_OP_NO_TICKET</c>. Default true.</summary>
    public bool EnableTickets { get; set; } = true;

    /// <summary>A copy (the trusted-certificate collection is copied; the session cache is shared).</summary>
    public FastSessionClientSettings Clone()
    {
        var copy = new FastSessionClientSettings
        {
            MinVersion = MinVersion,
            MaxVersion = MaxVersion,
            ValidateServerCertificate = ValidateServerCertificate,
            CheckCertificateName = CheckCertificateName,
            TrustedCertificates = TrustedCertificates is null ? null : new X509Certificate2Collection(TrustedCertificates),
            SessionCache = SessionCache,
            EnableTickets = EnableTickets,
            EnableHttp2 = EnableHttp2,
        };
        return copy;
    }

    internal void Validate()
    {
    }
}
