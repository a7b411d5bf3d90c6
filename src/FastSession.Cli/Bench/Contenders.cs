using System;
using System.IO;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Cli.Bench;

/// <summary>
/// One TLS implementation under test. Every benchmarked connection does the same on both: handshake (offering a
/// session in resumed mode), the server writes one byte and the client reads it (which also processes TLS 1.3 tickets),
/// the client sends close_notify, the server reads it and answers, both dispose.
/// </summary>
internal abstract class Contender : IDisposable
{
    public abstract string Name { get; }

    /// <summary>Runs the client side; returns whether the handshake resumed (null when the implementation cannot tell).</summary>
    public abstract Task<bool?> RunClientAsync(Stream stream, bool resume, int port, CancellationToken cancellationToken);

    public abstract Task RunServerAsync(Stream stream, CancellationToken cancellationToken);

    public abstract void Dispose();

    // Connections run one at a time, so each role can keep its little buffers.
    private static readonly byte[] s_serverByte = { 42 };
    private static readonly byte[] s_serverSink = new byte[64];
    private static readonly byte[] s_clientByte = new byte[1];

    protected static async Task FinishServerAsync(Stream tls, Func<Task> shutdown, CancellationToken cancellationToken)
    {
        await tls.WriteAsync(s_serverByte, cancellationToken).ConfigureAwait(false);
        while (await tls.ReadAsync(s_serverSink, cancellationToken).ConfigureAwait(false) > 0)
        {
        }
        try
        {
            await shutdown().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client may already be gone.
        }
    }

    protected static async Task ReadOneByteAsync(Stream tls, CancellationToken cancellationToken)
    {
        if (await tls.ReadAsync(s_clientByte, cancellationToken).ConfigureAwait(false) != 1)
        {
            throw new IOException("The benchmark server closed before sending its byte.");
        }
    }
}

/// <summary>FastSession: FastSslStream with a client session cache (TLS 1.3 tickets used once).</summary>
internal sealed class FastSessionContender : Contender
{
    private readonly SslContext _server;
    private readonly SslContext _client;
    private readonly SslClientSessionCache _cache = new(capacity: 64, perKey: 16);

    public FastSessionContender(TlsVersion version)
    {
        _server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version });
        // Same footing as the SslStream contender, which accepts any certificate of the bench's own ephemeral server.
        _client = SslContext.CreateClient(new SslClientOptions { MinVersion = version, MaxVersion = version, DangerousAcceptAnyServerCertificate = true });
        _client.SessionEstablished = _cache.OnSessionEstablished;
    }

    public override string Name => "fastsession";

    public override async Task<bool?> RunClientAsync(Stream stream, bool resume, int port, CancellationToken cancellationToken)
    {
        await using var tls = new FastSslStream(stream);
        if (resume)
        {
            await tls.AuthenticateAsClientAsync(_client, "localhost", port, _cache, null, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await tls.AuthenticateAsClientAsync(_client, "localhost", default, cancellationToken).ConfigureAwait(false);
        }
        bool reused = tls.SessionReused;
        await ReadOneByteAsync(tls, cancellationToken).ConfigureAwait(false);
        await tls.ShutdownAsync(cancellationToken).ConfigureAwait(false);
        return reused;
    }

    public override async Task RunServerAsync(Stream stream, CancellationToken cancellationToken)
    {
        await using var tls = new FastSslStream(stream);
        await tls.AuthenticateAsServerAsync(_server, cancellationToken).ConfigureAwait(false);
        await FinishServerAsync(tls, () => tls.ShutdownAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _client.SessionEstablished = null;
        _cache.Dispose();
        _client.Dispose();
        _server.Dispose();
    }
}

/// <summary>.NET's SslStream (over the same OpenSSL on Linux) with AllowTlsResume and an ECDSA P-256 certificate.</summary>
internal sealed class SslStreamContender : Contender
{
    private readonly X509Certificate2 _certificate;
    private readonly SslStreamCertificateContext _certificateContext;
    private readonly SslProtocols _protocols;

    public SslStreamContender(TlsVersion version)
    {
        _protocols = version == TlsVersion.Tls12 ? SslProtocols.Tls12 : SslProtocols.Tls13;
        _certificate = CreateCertificate();
        _certificateContext = SslStreamCertificateContext.Create(_certificate, additionalCertificates: null, offline: true);
    }

    public override string Name => "sslstream";

    public override async Task<bool?> RunClientAsync(Stream stream, bool resume, int port, CancellationToken cancellationToken)
    {
        await using var tls = new SslStream(stream, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = _protocols,
            AllowTlsResume = resume,
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        };
        await tls.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
        await ReadOneByteAsync(tls, cancellationToken).ConfigureAwait(false);
        await tls.ShutdownAsync().ConfigureAwait(false);
        return null; // SslStream does not say whether the handshake resumed.
    }

    public override async Task RunServerAsync(Stream stream, CancellationToken cancellationToken)
    {
        await using var tls = new SslStream(stream, leaveInnerStreamOpen: false);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _certificateContext,
            EnabledSslProtocols = _protocols,
            AllowTlsResume = true,
            ClientCertificateRequired = false,
        };
        await tls.AuthenticateAsServerAsync(options, cancellationToken).ConfigureAwait(false);
        await FinishServerAsync(tls, tls.ShutdownAsync, cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose() => _certificate.Dispose();

    /// <summary>A self-signed ECDSA P-256 certificate for CN=localhost, like FastSession's ephemeral one.</summary>
    internal static X509Certificate2 CreateCertificate()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(30));
    }
}
