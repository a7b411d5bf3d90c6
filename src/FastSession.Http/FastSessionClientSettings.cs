using System;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace FastSession.Http;

/// <summary>
/// TLS settings of a <see cref="FastSessionConnector"/> (and so of a <see cref="FastSessionHttpHandler"/>). The defaults are
/// the secure ones, those of FastSession's client context: the server's chain is verified against the system trust store
/// (<c>SSL_CTX_set_default_verify_paths</c>) and its name against the request's host (<c>SSL_set1_host</c>), inside the handshake.
/// </summary>
public sealed partial class FastSessionClientSettings
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
    /// Verify the server's certificate chain (<c>SSL_VERIFY_PEER</c>) and name (<c>SSL_set1_host</c>). Default true. False is the
    /// explicit opt-out, <see cref="SslClientOptions.DangerousAcceptAnyServerCertificate"/> (<c>SSL_VERIFY_NONE</c>).
    /// </summary>
    public bool ValidateServerCertificate { get; set; } = true;

    /// <summary>
    /// Check the certificate's names against the request host (<c>SSL_set1_host</c>). Default true. False accepts a chain that
    /// verifies but names another host: the shim pauses the handshake at the verdict and the connector accepts
    /// <see cref="SslPolicyErrors.RemoteCertificateNameMismatch"/> alone (see <see cref="SslClientOptions.ServerCertificateValidation"/>).
    /// </summary>
    public bool CheckCertificateName { get; set; } = true;

    /// <summary>
    /// Trust OpenSSL's default verify paths, the system store (<see cref="SslClientOptions.UseSystemTrustStore"/>). Default true.
    /// </summary>
    public bool UseSystemTrustStore { get; set; } = true;

    /// <summary>
    /// More certificates to trust as issuers, beside the system store (<c>X509_STORE_add_cert</c>, through
    /// <see cref="SslContextOptions.TrustedCertificates"/>); null (the default) adds none. To trust only these, set
    /// <see cref="UseSystemTrustStore"/> to false (like <c>X509ChainPolicy.CustomTrustStore</c>).
    /// </summary>
    public X509Certificate2Collection? TrustedCertificates { get; set; }

    /// <summary>
    /// Custom policy after OpenSSL's verdict (pinning, a known self-signed server), in the spirit of SocketsHttpHandler's
    /// <c>SslOptions.RemoteCertificateValidationCallback</c>: it sees <see cref="SslCertificateValidation.PolicyErrors"/> and the
    /// chain and decides (<see cref="SslClientOptions.ServerCertificateValidation"/>: runs outside OpenSSL, the handshake paused by
    /// <c>SSL_set_retry_verify</c>). When set, it decides alone (also for <see cref="CheckCertificateName"/>). Default null.
    /// </summary>
    public SslCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>
    /// Client certificates for mutual TLS, as SocketsHttpHandler's <c>SslOptions.ClientCertificates</c>: the first one with a private
    /// key is loaded into the client context (<c>SSL_CTX_use_certificate</c>, <c>SSL_CTX_use_PrivateKey</c>) and sent when a server
    /// asks. OpenSSL holds one certificate per context, so unlike SslStream there is no choice by the server's acceptable issuers.
    /// Default null (none).
    /// </summary>
    public X509Certificate2Collection? ClientCertificates { get; set; }

    /// <summary>
    /// A session cache to share (between handlers, or with a YARP factory); null makes the connector own a new in-memory one.
    /// A shared cache is not disposed by the connector. A session resumes only on the context (connector) that made it:
    /// it carries the client identity it was authenticated with, so FastSslStream never re-binds it to another context
    /// (the connection then does a full handshake, outcome <c>OtherContext</c>). Share one connector, not just its cache,
    /// to resume across handlers (<c>IHttpClientBuilder.UseFastSession</c> does).
    /// </summary>
    public SslClientSessionCache? SessionCache { get; set; }

    /// <summary>TLS 1.2 sessions and TLS 1.3 tickets: false sets <c>SSL_OP_NO_TICKET</c>. Default true.</summary>
    public bool EnableTickets { get; set; } = true;

    /// <summary>A copy (the certificate collections are copied; the certificates and the session cache are shared).</summary>
    public FastSessionClientSettings Clone() => new()
    {
        MinVersion = MinVersion,
        MaxVersion = MaxVersion,
        ValidateServerCertificate = ValidateServerCertificate,
        CheckCertificateName = CheckCertificateName,
        UseSystemTrustStore = UseSystemTrustStore,
        TrustedCertificates = TrustedCertificates is null ? null : new X509Certificate2Collection(TrustedCertificates),
        ServerCertificateValidation = ServerCertificateValidation,
        ClientCertificates = ClientCertificates is null ? null : new X509Certificate2Collection(ClientCertificates),
        SessionCache = SessionCache,
        EnableTickets = EnableTickets,
        EnableHttp2 = EnableHttp2,
        DangerousEnableReplayableEarlyData = DangerousEnableReplayableEarlyData,
    };

    /// <summary>The client context options these settings describe (ALPN not included).</summary>
    /// <exception cref="ArgumentException">Client certificates were given, none with a private key.</exception>
    internal SslClientOptions ToClientOptions()
    {
        var options = new SslClientOptions
        {
            MinVersion = MinVersion,
            MaxVersion = MaxVersion,
            EnableTickets = EnableTickets,
            DangerousAcceptAnyServerCertificate = !ValidateServerCertificate,
            DangerousEnableReplayableEarlyData = DangerousEnableReplayableEarlyData,
        };
        if (ValidateServerCertificate)
        {
            options.UseSystemTrustStore = UseSystemTrustStore;
            if (TrustedCertificates is not null)
            {
                options.TrustedCertificates.AddRange(TrustedCertificates);
            }
            options.ServerCertificateValidation = ServerCertificateValidation
                ?? (CheckCertificateName ? null : static (_, v) => (v.PolicyErrors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None);
        }
        if (ClientCertificates is { Count: > 0 })
        {
            X509Certificate2? chosen = null;
            foreach (X509Certificate2 certificate in ClientCertificates)
            {
                if (certificate.HasPrivateKey)
                {
                    chosen = certificate;
                    break;
                }
            }
            options.ClientCertificate = chosen ?? throw new ArgumentException(
                "ClientCertificates holds no certificate with a private key: OpenSSL needs the key to prove the certificate.", nameof(ClientCertificates));
        }
        return options;
    }
}
