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
    /// ALPN protocols offered (<c>SSL_CTX_set_alpn_protos</c>). Default <c>http/1.1</c> only: <see cref="System.Net.Http.SocketsHttpHandler"/>
    /// reads the negotiated protocol from <c>SslStream</c> state FastSession cannot set, so offering <c>h2</c> would let a server
    /// choose HTTP/2 on a connection the handler then speaks HTTP/1.1 on (see the README's Hosts section). Only
    /// <c>http/1.1</c> is accepted here.
    /// </summary>
    public IList<string> ApplicationProtocols { get; } = new List<string> { "http/1.1" };

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

    internal FastSessionClientSettings Clone()
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
        };
        copy.ApplicationProtocols.Clear();
        foreach (string protocol in ApplicationProtocols)
        {
            copy.ApplicationProtocols.Add(protocol);
        }
        return copy;
    }

    internal void Validate()
    {
        foreach (string protocol in ApplicationProtocols)
        {
            if (protocol != "http/1.1")
            {
                throw new NotSupportedException(
                    $"ALPN protocol '{protocol}' cannot be offered: SocketsHttpHandler chooses HTTP/2 only from SslStream's own negotiated ALPN, " +
                    "which a FastSession connection cannot set, so only http/1.1 is safe to offer.");
            }
        }
    }
}
