using System;
using System.IO;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Http;

/// <summary>
/// Makes the <see cref="SslStream"/> base of a <see cref="FastSessionHttpStream"/> authenticated with the ALPN protocol the real
/// (FastSession) connection negotiated. SocketsHttpHandler reads <see cref="SslStream.NegotiatedApplicationProtocol"/> to choose
/// HTTP/2 — a non-virtual property that throws on an unauthenticated SslStream and is set only by SslStream's own handshake —
/// so the base runs one handshake, in memory, against an in-process SslStream server that selects exactly that protocol.
/// No byte of it reaches the network; all HTTP traffic goes through the FastSslStream. The mirror's certificate is an
/// ephemeral key made once per process, pinned by the client side.
/// </summary>
internal static class AlpnMirror
{
    private static readonly Lazy<(SslStreamCertificateContext Context, byte[] Raw, X509ChainPolicy ChainPolicy)> Certificate = new(Create);
    private static readonly Lazy<SslProtocols> Protocol = new(Probe);

    public static async Task AuthenticateAsync(SslStream client, Stream serverSide, string? applicationProtocol, CancellationToken cancellationToken)
    {
        await AuthenticateAsync(client, serverSide, applicationProtocol, Protocol.Value, cancellationToken).ConfigureAwait(false);
    }

    private static async Task AuthenticateAsync(SslStream client, Stream serverSide, string? applicationProtocol, SslProtocols protocol, CancellationToken cancellationToken)
    {
        SslStreamCertificateContext context = Certificate.Value.Context;
        var protocols = applicationProtocol is null ? null : new System.Collections.Generic.List<SslApplicationProtocol> { new(applicationProtocol) };
        // TLS 1.2 on purpose: after the first mirror every later one is an abbreviated handshake (session resumption without any
        // public-key operation), where a TLS 1.3 resumption still runs ECDHE on both sides. The mirror carries no data and never
        // reaches the network, so its protocol version protects nothing; only its cost matters (bench AlpnMirrorHandshake). A system
        // whose OpenSSL policy forbids TLS 1.2 gets TLS 1.3 mirrors (Probe).
        await using var server = new SslStream(serverSide, leaveInnerStreamOpen: false);
        Task serverTask = server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificateContext = context,
            ApplicationProtocols = protocols,
            EnabledSslProtocols = protocol,
        }, cancellationToken);
        Task clientTask = client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "fastsession-alpn-mirror",
            ApplicationProtocols = protocols,
            EnabledSslProtocols = protocol,
            // One delegate for every mirror: .NET keys its client SSL_CTX (and with it TLS resumption between mirrors) on the options.
            RemoteCertificateValidationCallback = PinnedMirror,
            // SslStream builds a chain before the callback runs; against the system store that build was most of a mirror's CPU
            // (X509_NAME_cmp and sorting the store on every handshake). A store holding only the mirror's certificate is cheap.
            CertificateChainPolicy = Certificate.Value.ChainPolicy,
        }, cancellationToken);
        await Task.WhenAll(serverTask, clientTask).ConfigureAwait(false);
    }

    public static (Stream Client, Stream Server) CreatePair()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        return (new PipeStream(toClient.Reader, toServer.Writer), new PipeStream(toServer.Reader, toClient.Writer));
    }

    private static readonly RemoteCertificateValidationCallback PinnedMirror = static (_, certificate, _, _) =>
        certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(Certificate.Value.Raw);

    // One TLS 1.2 mirror, once per process: if the system's OpenSSL policy refuses TLS 1.2 (MinProtocol = TLSv1.3), every mirror uses
    // TLS 1.3 instead of failing every HTTP/2-capable connection.
    private static SslProtocols Probe()
    {
        try
        {
            Task.Run(async () =>
            {
                (Stream client, Stream server) = CreatePair();
                await using var ssl = new SslStream(client);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await AuthenticateAsync(ssl, server, null, SslProtocols.Tls12, timeout.Token).ConfigureAwait(false);
            }).GetAwaiter().GetResult();
            return SslProtocols.Tls12;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            return SslProtocols.Tls13;
        }
    }

    private static (SslStreamCertificateContext, byte[], X509ChainPolicy) Create()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=fastsession-alpn-mirror", key, HashAlgorithmName.SHA256);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        X509Certificate2 certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(X509CertificateLoader.LoadCertificate(certificate.RawData));
        return (SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true), certificate.RawData, policy);
    }

    private sealed class PipeStream(PipeReader reader, PipeWriter writer) : Stream
    {
        private readonly Stream _in = reader.AsStream();
        private readonly Stream _out = writer.AsStream();

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _in.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _in.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _in.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => _out.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _out.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _out.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => _out.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => _out.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _in.Dispose();
                _out.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
