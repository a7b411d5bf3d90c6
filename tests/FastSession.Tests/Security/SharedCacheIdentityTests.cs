using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Security;

/// <summary>
/// A session carries the identity its context authenticated with (a client certificate, S12). A client session cache
/// shared by two contexts must never let the one without a certificate resume a session of the one with it: the server
/// would see the other client's certificate on a connection that never proved it holds the key.
/// </summary>
public sealed class SharedCacheIdentityTests : LiveObjectTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task ACacheSharedByContextsOfDifferentClientIdentities_NeverResumesOneAsTheOther(TlsVersion version)
    {
        SslServerOptions serverOptions = SecurityPki.Server(SecurityPki.Localhost, version);
        serverOptions.ClientCertificateMode = SslClientCertificateMode.AllowCertificate;
        serverOptions.TrustedCertificatesPem = SecurityPki.Ca.CertificatePem;
        using SslContext server = SslContext.CreateServer(serverOptions);
        SslClientOptions withCertificateOptions = SecurityPki.ClientTrustingCa(version);
        withCertificateOptions.ClientCertificatePem = SecurityPki.Client.CertificatePem;
        withCertificateOptions.ClientPrivateKeyPem = SecurityPki.Client.KeyPem;
        using SslContext withCertificate = SslContext.CreateClient(withCertificateOptions);
        using SslContext anonymous = SslContext.CreateClient(SecurityPki.ClientTrustingCa(version));
        using var cache = new SslClientSessionCache();
        withCertificate.SessionEstablished = cache.OnSessionEstablished;
        anonymous.SessionEstablished = cache.OnSessionEstablished;

        // One listener for both connections: the cache key is (host, port, ALPN).
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new ListenerStop(listener);
        (bool reused, bool serverSawCertificate, _) = await ConnectAsync(listener, withCertificate, server, cache);
        Assert.False(reused);
        Assert.True(serverSawCertificate);

        (reused, serverSawCertificate, SslResumptionOutcome outcome) = await ConnectAsync(listener, anonymous, server, cache);
        Assert.False(reused);
        Assert.False(serverSawCertificate);
        Assert.Equal(SslResumptionOutcome.OtherContext, outcome);
    }

    private static async Task<(bool Reused, bool ServerSawCertificate, SslResumptionOutcome Outcome)> ConnectAsync(
        TcpListener listener, SslContext client, SslContext server, SslClientSessionCache cache)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var tcp = new TcpClient { NoDelay = true };
            Task connect = tcp.ConnectAsync(IPAddress.Loopback, port, cancel.Token).AsTask();
            using Socket accepted = await listener.AcceptSocketAsync(cancel.Token);
            await connect;
            await using var serverStream = new FastSslStream(new NetworkStream(accepted, ownsSocket: false));
            await using var clientStream = new FastSslStream(tcp.GetStream());
            Task serverHandshake = serverStream.AuthenticateAsServerAsync(server, cancel.Token);
            await clientStream.AuthenticateAsClientAsync(client, "localhost", port, cache, null, cancel.Token);
            await serverHandshake;

            // One byte each way: the TLS 1.3 tickets reach the client's cache before it closes.
            await clientStream.WriteAsync(new byte[] { 1 }, cancel.Token);
            byte[] one = new byte[1];
            Assert.Equal(1, await serverStream.ReadAsync(one, cancel.Token));
            await serverStream.WriteAsync(one, cancel.Token);
            Assert.Equal(1, await clientStream.ReadAsync(one, cancel.Token));
            await clientStream.WaitForSessionTicketsAsync(TimeSpan.FromSeconds(1), 1, cancel.Token);

            bool sawCertificate = serverStream.Connection.TryAcquirePeerCertificate(out PeerCertificate certificate);
            certificate.Dispose();
            return (clientStream.SessionReused, sawCertificate, clientStream.Connection.ResumptionOutcome);
        }
    }

    private sealed class ListenerStop(TcpListener listener) : IDisposable
    {
        public void Dispose() => listener.Stop();
    }
}
