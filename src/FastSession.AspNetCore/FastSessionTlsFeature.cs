using System;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace FastSession.AspNetCore;

/// <summary>The session facts of a FastSession connection, a connection feature (<c>HttpContext.Features.Get&lt;IFastSessionFeature&gt;()</c>).</summary>
public interface IFastSessionFeature
{
    /// <summary>Whether the handshake resumed a session (<c>SSL_session_reused</c>).</summary>
    bool SessionReused { get; }

    /// <summary>
    /// Why the handshake resumed or not (<see cref="SslConnection.ResumptionOutcome"/>): <see cref="SslResumptionOutcome.Resumed"/>,
    /// or e.g. <see cref="SslResumptionOutcome.NotOffered"/> (the client offered no session or ticket),
    /// <see cref="SslResumptionOutcome.TicketNotDecrypted"/> (a ticket under an unknown or rotated key).
    /// </summary>
    SslResumptionOutcome ResumptionOutcome { get; }

    /// <summary>The negotiated protocol (<c>SSL_version</c>).</summary>
    TlsVersion Protocol { get; }

    /// <summary>The SNI host name the client sent, or null.</summary>
    string? ServerName { get; }

    /// <summary>The negotiated ALPN protocol (<c>SSL_get0_alpn_selected</c>), or null.</summary>
    string? ApplicationProtocol { get; }

    /// <summary>The OpenSSL cipher name (<c>SSL_CIPHER_get_name</c>).</summary>
    string CipherName { get; }

    /// <summary>How long the handshake took.</summary>
    TimeSpan HandshakeDuration { get; }

    /// <summary>The FastSession stream of the connection (its <see cref="FastSslStream.Connection"/> gives the session itself).</summary>
    FastSslStream Stream { get; }
}

// One object serves every TLS feature Kestrel and applications look for, filled once after the handshake.
internal sealed class FastSessionTlsFeature : IFastSessionFeature, ITlsConnectionFeature, ITlsApplicationProtocolFeature, ITlsHandshakeFeature
{
    private readonly ReadOnlyMemory<byte> _alpn;

    public FastSessionTlsFeature(FastSslStream stream, string? serverName, TimeSpan duration)
    {
        Stream = stream;
        SslConnection connection = stream.Connection;
        SessionReused = connection.SessionReused;
        ResumptionOutcome = connection.ResumptionOutcome;
        // The verified client certificate (mutual TLS); a resumed session carries the one of its full handshake.
        if (connection.TryBorrowPeerCertificate(out PeerCertificateRef peer))
        {
            ClientCertificate = X509CertificateLoader.LoadCertificate(peer.GetRawData());
        }
        Protocol = connection.Protocol;
        ApplicationProtocol = connection.GetApplicationProtocol();
        _alpn = ApplicationProtocol is null ? ReadOnlyMemory<byte>.Empty : System.Text.Encoding.ASCII.GetBytes(ApplicationProtocol);
        ServerName = serverName;
        HandshakeDuration = duration;
        string cipher = "";
        ushort suite = 0;
        if (connection.TryBorrowSession(out SslSessionRef session))
        {
            session.GetInfo(out SslSessionInfo info);
            cipher = info.CipherName;
            suite = info.CipherSuite;
        }
        CipherName = cipher;
        NegotiatedCipherSuite = (System.Net.Security.TlsCipherSuite)suite;
    }

    public bool SessionReused { get; }

    public SslResumptionOutcome ResumptionOutcome { get; }

    public TlsVersion Protocol { get; }

    public string? ServerName { get; }

    public string? ApplicationProtocol { get; }

    public string CipherName { get; }

    public TimeSpan HandshakeDuration { get; }

    public FastSslStream Stream { get; }

    // ITlsConnectionFeature: the certificate the client sent and OpenSSL verified (ClientCertificateMode Allow/Require), else null.
    public X509Certificate2? ClientCertificate { get; set; }

    public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(ClientCertificate);

    // ITlsApplicationProtocolFeature: Kestrel picks HTTP/2 when this is "h2".
    ReadOnlyMemory<byte> ITlsApplicationProtocolFeature.ApplicationProtocol => _alpn;

    // ITlsHandshakeFeature
    SslProtocols ITlsHandshakeFeature.Protocol => Protocol switch
    {
        TlsVersion.Tls12 => SslProtocols.Tls12,
        TlsVersion.Tls13 => SslProtocols.Tls13,
        _ => SslProtocols.None,
    };

    public System.Net.Security.TlsCipherSuite? NegotiatedCipherSuite { get; }

    string ITlsHandshakeFeature.HostName => ServerName ?? string.Empty;

#pragma warning disable SYSLIB0058 // The algorithm members are obsolete in favour of NegotiatedCipherSuite; the interface still has them.
    CipherAlgorithmType ITlsHandshakeFeature.CipherAlgorithm => CipherAlgorithmType.None;

    int ITlsHandshakeFeature.CipherStrength => 0;

    HashAlgorithmType ITlsHandshakeFeature.HashAlgorithm => HashAlgorithmType.None;

    int ITlsHandshakeFeature.HashStrength => 0;

    ExchangeAlgorithmType ITlsHandshakeFeature.KeyExchangeAlgorithm => ExchangeAlgorithmType.None;

    int ITlsHandshakeFeature.KeyExchangeStrength => 0;
#pragma warning restore SYSLIB0058
}
