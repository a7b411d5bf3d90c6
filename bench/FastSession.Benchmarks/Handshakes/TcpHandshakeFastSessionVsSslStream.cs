using System;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using FastSession.Benchmarks.Infrastructure;

namespace FastSession.Benchmarks.Handshakes;

/// <summary>
/// One TLS connection over loopback TCP per operation, client and server in this process: connect, handshake
/// (the client verifies the server's certificate), the server sends close_notify right after its last flight (TLS 1.3
/// tickets first), the client reads to it and answers with its own, the server reads that and closes.
/// <list type="bullet">
/// <item><c>SslStream</c> (baseline): System.Net.Security.SslStream on both sides, async, AllowTlsResume for resumed runs,
/// server certificate ECDSA P-256 self-signed via CertificateRequest.</item>
/// <item><c>FastSslStream</c>: FastSession's SslStream-shaped async adapter on both sides, new connection per handshake.</item>
/// <item><c>FastSessionSocket</c>: SslConnection driven over blocking sockets directly, both connections reused with Reset().</item>
/// </list>
/// Target (TLS 1.2, resumed): FastSession ≥ 5× SslStream's rate with ≤ ¼ of its allocations. Allocations are of the
/// whole process (client and server).
/// </summary>
[MemoryDiagnoser]
public class TcpHandshakeFastSessionVsSslStream
{
    private readonly byte[] _clientBuffer = new byte[16 * 1024];
    private readonly byte[] _serverBuffer = new byte[16 * 1024];

    private X509Certificate2 _certificate = null!;
    private SslServerAuthenticationOptions _sslServerOptions = null!;
    private SslClientAuthenticationOptions _sslClientOptions = null!;
    private AsyncTcpServer _sslStreamServer = null!;

    private SslContext _serverContext = null!;
    private SslContext _clientContext = null!;
    private AsyncTcpServer _fastStreamServer = null!;
    private SocketTlsServer _socketServer = null!;
    private SslConnection _socketClient = null!;
    private readonly SocketTlsBuffers _socketBuffers = new();
    private SslSession _streamSession;
    private SslSession _socketSession;

    [Params(TlsVersion.Tls12, TlsVersion.Tls13)]
    public TlsVersion Protocol { get; set; }

    [Params(HandshakeMode.Full, HandshakeMode.Resumed)]
    public HandshakeMode Mode { get; set; }

    private bool Resumed => Mode == HandshakeMode.Resumed;

    [GlobalSetup]
    public void Setup()
    {
        SslProtocols protocols = Protocol == TlsVersion.Tls12 ? SslProtocols.Tls12 : SslProtocols.Tls13;
        _certificate = CreateSelfSignedEcdsaCertificate();
        _sslServerOptions = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(_certificate, additionalCertificates: null, offline: true),
            EnabledSslProtocols = protocols,
            AllowTlsResume = Resumed,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        X509Certificate2 expected = _certificate;
        _sslClientOptions = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = protocols,
            AllowTlsResume = Resumed,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // The chain is built and checked by SslStream; the self-signed root is trusted by identity.
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None ||
                (errors == SslPolicyErrors.RemoteCertificateChainErrors && certificate is not null && certificate.Equals(expected)),
        };
        _sslStreamServer = new AsyncTcpServer(ServeSslStreamAsync);

        _serverContext = SslContext.CreateServer(Contexts.Server(Protocol));
        // The FastSession client verifies the server's certificate too (SSL_VERIFY_PEER against the server's PEM).
        _clientContext = SslContext.CreateClient(Contexts.Client(Protocol, _serverContext.GetCertificatePem()));
        _fastStreamServer = new AsyncTcpServer(ServeFastSslStreamAsync);
        _socketServer = new SocketTlsServer(_serverContext);
        _socketClient = _clientContext.CreateConnection("localhost");

        if (Resumed)
        {
            // Seed each client with a first full handshake (SslStream keeps its sessions internally; the
            // FastSession clients run once as in Full mode and keep the newest captured session).
            SslStream().GetAwaiter().GetResult();
            Mode = HandshakeMode.Full;
            try
            {
                FastSslStream().GetAwaiter().GetResult();
                FastSessionSocket();
            }
            finally
            {
                Mode = HandshakeMode.Resumed;
            }
            Sessions.EnsureResumable(_streamSession);
            Sessions.EnsureResumable(_socketSession);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sslStreamServer.Dispose();
        _fastStreamServer.Dispose();
        _socketServer.Dispose();
        _socketClient.Dispose();
        _streamSession.Dispose();
        _socketSession.Dispose();
        _clientContext.Dispose();
        _serverContext.Dispose();
        _certificate.Dispose();
    }

    [Benchmark(Baseline = true)]
    public async Task SslStream()
    {
        using Socket socket = SocketTls.Connect(_sslStreamServer.EndPoint);
        using var network = new NetworkStream(socket, ownsSocket: false);
        using var tls = new SslStream(network, leaveInnerStreamOpen: true);
        try
        {
            await tls.AuthenticateAsClientAsync(_sslClientOptions).ConfigureAwait(false);
            while (await tls.ReadAsync(_clientBuffer).ConfigureAwait(false) > 0)
            {
            }
            await tls.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw Failed("SslStream", e, _sslStreamServer.LastError);
        }
    }

    [Benchmark]
    public async Task FastSslStream()
    {
        using Socket socket = SocketTls.Connect(_fastStreamServer.EndPoint);
        using var network = new NetworkStream(socket, ownsSocket: false);
        using var tls = new FastSession.FastSslStream(network, leaveInnerStreamOpen: true);
        try
        {
            await tls.AuthenticateAsClientAsync(_clientContext, "localhost", Resumed ? _streamSession : default).ConfigureAwait(false);
            while (await tls.ReadAsync(_clientBuffer).ConfigureAwait(false) > 0)
            {
            }
            await tls.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw Failed("FastSslStream", e, _fastStreamServer.LastError);
        }
        if (Resumed)
        {
            Sessions.EnsureReused(tls.Connection);
        }
        Sessions.TakeNewest(tls.Connection, ref _streamSession);
    }

    [Benchmark]
    public void FastSessionSocket()
    {
        using Socket socket = SocketTls.Connect(_socketServer.EndPoint);
        SslConnection client = _socketClient;
        try
        {
            client.Reset();
            if (Resumed)
            {
                client.SetSession(_socketSession);
            }
            SocketTls.Handshake(client, socket, _socketBuffers);
            SocketTls.ReadUntilClosed(client, socket, _socketBuffers);
            SocketTls.Shutdown(client, socket, _socketBuffers);
        }
        catch (Exception e)
        {
            throw Failed("FastSessionSocket", e, _socketServer.LastError);
        }
        if (Resumed)
        {
            Sessions.EnsureReused(client);
        }
        Sessions.TakeNewest(client, ref _socketSession);
    }

    private async Task ServeSslStreamAsync(Socket socket)
    {
        using var network = new NetworkStream(socket, ownsSocket: false);
        using var tls = new SslStream(network, leaveInnerStreamOpen: true);
        await tls.AuthenticateAsServerAsync(_sslServerOptions).ConfigureAwait(false);
        await tls.ShutdownAsync().ConfigureAwait(false);
        while (await tls.ReadAsync(_serverBuffer).ConfigureAwait(false) > 0)
        {
        }
    }

    private async Task ServeFastSslStreamAsync(Socket socket)
    {
        using var network = new NetworkStream(socket, ownsSocket: false);
        using var tls = new FastSession.FastSslStream(network, leaveInnerStreamOpen: true);
        await tls.AuthenticateAsServerAsync(_serverContext).ConfigureAwait(false);
        await tls.ShutdownAsync().ConfigureAwait(false);
        while (await tls.ReadAsync(_serverBuffer).ConfigureAwait(false) > 0)
        {
        }
    }

    private static Exception Failed(string side, Exception client, Exception? server) =>
        new InvalidOperationException($"{side} client failed: {client.Message}{(server is null ? "" : $" (server: {server.Message})")}", client);

    /// <summary>ECDSA P-256, self-signed, CN and SAN localhost: the same kind of certificate the FastSession server makes.</summary>
    private static X509Certificate2 CreateSelfSignedEcdsaCertificate()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(30));
    }
}
