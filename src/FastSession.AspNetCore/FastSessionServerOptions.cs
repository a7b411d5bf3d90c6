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
public sealed class FastSessionServerOptions
{
    /// <summary>The server certificate, with its private key (loaded into <c>SSL_CTX_use_certificate</c> / <c>SSL_CTX_use_PrivateKey</c>).</summary>
    public X509Certificate2? ServerCertificate { get; set; }

    /// <summary>
    /// Chooses the certificate from the client's SNI host name (null when the client sent none), read from the ClientHello before
    /// OpenSSL sees it. Each distinct certificate gets its own <c>SSL_CTX</c>, so its clients resume against it. Returning null
    /// falls back to <see cref="ServerCertificate"/>.
    /// </summary>
    public Func<ConnectionContext?, string?, X509Certificate2?>? ServerCertificateSelector { get; set; }

    /// <summary>Only <see cref="Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.NoCertificate"/> (the default):
    /// FastSession's server context does not request client certificates yet; other values are refused at configuration.</summary>
    public ClientCertificateMode ClientCertificateMode { get; set; } = ClientCertificateMode.NoCertificate;

    /// <summary>Refused when set, for the reason given at <see cref="ClientCertificateMode"/>.</summary>
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
        if (ClientCertificateMode != ClientCertificateMode.NoCertificate || ClientCertificateValidation is not null)
        {
            throw new NotSupportedException(
                "Client certificates are not supported by FastSession's server context yet (no SSL_VERIFY_PEER on the server): " +
                "use ClientCertificateMode.NoCertificate and no ClientCertificateValidation, or Kestrel's UseHttps.");
        }
        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "HandshakeTimeout must be positive.");
        }
        _ = Versions();
    }
}
