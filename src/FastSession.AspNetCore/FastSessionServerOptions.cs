using System;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace FastSession.AspNetCore;

/// <summary>
/// Settings of <c>ListenOptions.UseFastSession</c>,
/// named as Kestrel's <see cref="HttpsConnectionAdapterOptions"/> names them.
/// </summary>
public sealed partial class FastSessionServerOptions
{
    /// <summary>The server certificate, with its private key (loaded into <c>SSL_CTX_use_certificate</c> / <c>SSL_CTX_use_PrivateKey</c>).</summary>
    public X509Certificate2? ServerCertificate { get; set; }

    /// <summary>
    /// Chooses the certificate from the client's SNI host name (null when the client sent none), read from the ClientHello before
    /// OpenSSL sees it. Each distinct certificate gets its own <c>SSL_CTX</c>, so its clients resume against it. Returning null
    /// falls back to <see cref="ServerCertificate"/>.
    /// </summary>
    public Func<ConnectionContext?, string?, X509Certificate2?>? ServerCertificateSelector { get; set; }

    /// <summary>
    /// Client certificates (mutual TLS), as Kestrel names them: <see cref="ClientCertificateMode.NoCertificate"/> (default),
    /// <see cref="ClientCertificateMode.AllowCertificate"/> (requested with <c>SSL_VERIFY_PEER</c>; a client may send none, one it
    /// sends must verify) or <see cref="ClientCertificateMode.RequireCertificate"/> (adds <c>SSL_VERIFY_FAIL_IF_NO_PEER_CERT</c>).
    /// OpenSSL verifies the chain in the handshake against <see cref="ClientCertificateIssuers"/> and, when none are given, the system
    /// store (Kestrel's default). <c>DelayCertificate</c> (renegotiation) is refused at configuration.
    /// The certificate reaches the application as <c>ITlsConnectionFeature.ClientCertificate</c> (<c>SSL_get1_peer_certificate</c>).
    /// </summary>
    public ClientCertificateMode ClientCertificateMode { get; set; } = ClientCertificateMode.NoCertificate;

    /// <summary>
    /// Issuers client certificates must chain to (<c>X509_STORE_add_cert</c>).
    /// Null or empty (the default) trusts the system store instead, as Kestrel does.
    /// </summary>
    public X509Certificate2Collection? ClientCertificateIssuers { get; set; }

    /// <summary>
    /// Further policy for a client certificate, with Kestrel's signature. Unlike Kestrel's it runs after OpenSSL verified the chain
    /// (so the errors are <see cref="SslPolicyErrors.None"/> and the chain argument is null) and before the connection reaches Kestrel:
    /// false closes the connection. It can refuse a certificate OpenSSL accepted, not accept one OpenSSL refused (FastSession's
    /// server context verifies inside the handshake): trust a self-signed client certificate through <see cref="ClientCertificateIssuers"/>.
    /// Not called when the client sent no certificate.
    /// </summary>
    public Func<X509Certificate2, X509Chain?, SslPolicyErrors, bool>? ClientCertificateValidation { get; set; }

    /// <summary>Limit for the TLS handshake. Default 10 s, as Kestrel's.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary><see cref="System.Security.Authentication.SslProtocols.None"/> (default: TLS 1.2 and 1.3), or Tls12, Tls13 or both.</summary>
    public SslProtocols SslProtocols { get; set; } = SslProtocols.None;

    /// <summary>TLS 1.3 tickets sent after each full handshake (<c>SSL_CTX_set_num_tickets</c>). Default 2.</summary>
    public int TicketCount { get; set; } = 2;

    /// <summary>Session lifetime (<c>SSL_CTX_set_timeout</c>); zero keeps OpenSSL's 300 s.</summary>
    public TimeSpan SessionTimeout { get; set; }

    /// <summary>Tickets (RFC 5077, TLS 1.3); false sets <c>SSL_OP_NO_TICKET</c> (TLS 1.2 then resumes by session id). Default true.</summary>
    public bool EnableTickets { get; set; } = true;

    internal (TlsVersion Min, TlsVersion Max) Versions()
    {
        const SslProtocols both = SslProtocols.Tls12 | SslProtocols.Tls13;
        if ((SslProtocols & ~both) != 0)
        {
            throw new NotSupportedException($"SslProtocols {SslProtocols}: FastSession negotiates TLS 1.2 and TLS 1.3 only.");
        }
        return SslProtocols switch
        {
            SslProtocols.Tls12 => (TlsVersion.Tls12, TlsVersion.Tls12),
            SslProtocols.Tls13 => (TlsVersion.Tls13, TlsVersion.Tls13),
            _ => (TlsVersion.Tls12, TlsVersion.Tls13),
        };
    }

    /// <summary>The server context options for one certificate (<c>SSL_CTX_use_certificate</c> from the X509Certificate2 and its key).</summary>
    internal SslServerOptions ToServerOptions(X509Certificate2 certificate, string[] alpn)
    {
        (TlsVersion min, TlsVersion max) = Versions();
        var server = new SslServerOptions
        {
            Certificate = certificate,
            MinVersion = min,
            MaxVersion = max,
            TicketCount = TicketCount,
            SessionTimeout = SessionTimeout,
            EnableTickets = EnableTickets,
            ClientCertificateMode = ClientCertificateMode switch
            {
                ClientCertificateMode.AllowCertificate => SslClientCertificateMode.AllowCertificate,
                ClientCertificateMode.RequireCertificate => SslClientCertificateMode.RequireCertificate,
                _ => SslClientCertificateMode.NoCertificate,
            },
        };
        if (ClientCertificateMode != ClientCertificateMode.NoCertificate)
        {
            if (ClientCertificateIssuers is { Count: > 0 } issuers)
            {
                server.TrustedCertificates.AddRange(issuers);
            }
            else
            {
                server.UseSystemTrustStore = true;
            }
        }
        foreach (string protocol in alpn)
        {
            server.ApplicationProtocols.Add(protocol);
        }
        ApplyEarlyData(server); // FastSessionServerOptions.EarlyData.cs
        return server;
    }

    internal void Validate()
    {
        if (ServerCertificate is null && ServerCertificateSelector is null)
        {
            throw new InvalidOperationException("UseFastSession needs a ServerCertificate or a ServerCertificateSelector.");
        }
        if (ServerCertificate is { HasPrivateKey: false })
        {
            throw new ArgumentException($"The server certificate {ServerCertificate.Subject} has no private key.");
        }
        if (ClientCertificateMode is not (ClientCertificateMode.NoCertificate or ClientCertificateMode.AllowCertificate or ClientCertificateMode.RequireCertificate))
        {
            throw new NotSupportedException(
                $"ClientCertificateMode {ClientCertificateMode} is not supported by FastSession (it asks for a certificate after the handshake, " +
                "by renegotiation): use AllowCertificate or RequireCertificate.");
        }
        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "HandshakeTimeout must be positive.");
        }
        _ = Versions();
    }
}
