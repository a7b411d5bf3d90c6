using System;
using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using FastSession.Http;
using FastSession.Samples;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace FastSession.Hosts.Tests;

/// <summary>HttpClient with <see cref="FastSessionHttpHandler"/>, plain https:// URLs, against openssl s_server and Kestrel.</summary>
public sealed class HttpClientTests : HostsTest
{
    private readonly Peers _peers = new();

    public override void Dispose()
    {
        _peers.Dispose();
        base.Dispose();
    }

    public static TheoryData<string> Versions => new() { "1.2", "1.3" };

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task NewConnectionPerRequest_ResumesEveryReconnect_AsOpenSslServerReports(string version)
    {
        int port = await _peers.StartOpenSslServerAsync(version);
        var options = new HttpClientRun.Options(new Uri($"https://localhost:{port}/"), 10, _peers.Pki.CertificateFile, NewConnections: true);
        HttpClientRun.Result result = await HttpClientRun.RunAsync(options, TextWriterNull);

        Assert.Equal(10, result.Connections);
        Assert.Equal(9, result.Resumed);              // all but the first
        Assert.Equal(9, result.ServerReportedReused); // s_server's own page says "Reused"
    }

    [Fact]
    public async Task DefaultHandler_VerifiesAgainstTheSystemStore_AndRejectsASelfSignedServer()
    {
        int port = await _peers.StartOpenSslServerAsync("1.3");
        using var client = new HttpClient(new FastSessionHttpHandler());
        HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"https://localhost:{port}/"));
        Assert.IsAssignableFrom<AuthenticationException>(e.InnerException);
    }

    [Fact]
    public async Task TrustedCertificate_ForAnotherName_IsRejected()
    {
        int port = await _peers.StartOpenSslServerAsync("1.3");
        using var handler = new FastSessionHttpHandler(Trusting(_peers.Pki.CertificateFile));
        using var client = new HttpClient(handler);
        // The certificate names localhost only; 127.0.0.1 is the same server under a name it does not carry.
        HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"https://127.0.0.1:{port}/"));
        Assert.Contains("name mismatch", e.InnerException?.Message, StringComparison.Ordinal); // OpenSSL's host check (SSL_set1_host) names both names
        Assert.Equal(1, handler.Statistics.Failed);
    }

    [Fact]
    // Each handler has its own SslContext: a cache shared between them never hands one handler's session to the other
    // (no implicit re-bind: a session carries its context's identity, e.g. a client certificate; see
    // FastSession.Tests/Security/SharedCacheIdentityTests). The refusal is visible as outcome OtherContext.
    public async Task Http2_ToKestrelWithFastSession_NegotiatesH2_AndHandlersSharingACache_NeverResumeEachOthersSessions()
    {
        int port = TestPki.FreePort();
        using X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(_peers.Pki.CertificateFile, _peers.Pki.KeyFile);
        await using WebApplication app = KestrelSample.Build(port, certificate);
        await app.StartAsync();
        using var cache = new SslClientSessionCache();
        string[] bodies = new string[3];
        for (int i = 0; i < bodies.Length; i++)
        {
            FastSessionClientSettings settings = Trusting(_peers.Pki.CertificateFile);
            settings.SessionCache = cache;
            using var client = new HttpClient(new FastSessionHttpHandler(settings))
            {
                DefaultRequestVersion = HttpVersion.Version20,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            using HttpResponseMessage response = await client.GetAsync($"https://localhost:{port}/");
            Assert.Equal(HttpVersion.Version20, response.Version);
            bodies[i] = await response.Content.ReadAsStringAsync();
        }
        await app.StopAsync();

        Assert.StartsWith("HTTP/2 TLSv1.3 reused=False outcome=NotOffered alpn=h2", bodies[0], StringComparison.Ordinal);
        Assert.StartsWith("HTTP/2 TLSv1.3 reused=False outcome=NotOffered alpn=h2", bodies[1], StringComparison.Ordinal);
        Assert.StartsWith("HTTP/2 TLSv1.3 reused=False outcome=NotOffered alpn=h2", bodies[2], StringComparison.Ordinal);
        Assert.True(cache.Statistics.Hits >= 2, $"the handlers did take each other's sessions from the cache ({cache.Statistics})");
    }

    [Fact]
    public async Task Http11Request_ToAnH2Server_OffersOnlyHttp11()
    {
        int port = TestPki.FreePort();
        using X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(_peers.Pki.CertificateFile, _peers.Pki.KeyFile);
        await using WebApplication app = KestrelSample.Build(port, certificate);
        await app.StartAsync();
        using var client = new HttpClient(new FastSessionHttpHandler(Trusting(_peers.Pki.CertificateFile)));
        string body = await client.GetStringAsync($"https://localhost:{port}/");
        await app.StopAsync();
        Assert.StartsWith("HTTP/1.1 TLSv1.3 reused=False outcome=NotOffered alpn=http/1.1", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http2OrLowerRequest_ToAServerThatSelectsNoAlpn_IsServedOverHttp1()
    {
        // s_server selects no ALPN protocol, yet the connection offered h2, so SocketsHttpHandler reads NegotiatedApplicationProtocol,
        // which throws on an unauthenticated SslStream ("only allowed using a successfully authenticated context", tried): the
        // mirror runs here too, answering "no protocol", and the request goes over HTTP/1.x.
        int port = await _peers.StartOpenSslServerAsync("1.3");
        using var client = new HttpClient(new FastSessionHttpHandler(Trusting(_peers.Pki.CertificateFile)))
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        for (int i = 0; i < 2; i++)
        {
            using HttpResponseMessage response = await client.GetAsync($"https://localhost:{port}/");
            Assert.Equal(1, response.Version.Major);
            Assert.Contains("TLSv1.3", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task HttpClientFactory_UseFastSession_SharesOneCacheAcrossHandlers()
    {
        int port = await _peers.StartOpenSslServerAsync("1.2");
        var services = new ServiceCollection();
        services.AddHttpClient("backend").UseFastSession(settings =>
            settings.TrustedCertificates = Trusting(_peers.Pki.CertificateFile).TrustedCertificates);
        await using (ServiceProvider provider = services.BuildServiceProvider())
        {
            var factory = provider.GetRequiredService<IHttpClientFactory>();
            int reused = 0;
            for (int i = 0; i < 4; i++)
            {
                HttpClient client = factory.CreateClient("backend");
                string page = await client.GetStringAsync($"https://localhost:{port}/");
                reused += page.Contains("Reused, TLSv1.2", StringComparison.Ordinal) ? 1 : 0;
            }
            Assert.Equal(3, reused);
        }
    }

    [Fact]
    public async Task Http3Exact_IsRefused_WithTheReason()
    {
        using var client = new HttpClient(new FastSessionHttpHandler());
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://localhost:1/")
        {
            Version = HttpVersion.Version30,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        NotSupportedException e = await Assert.ThrowsAsync<NotSupportedException>(() => client.SendAsync(request));
        Assert.Contains("QUIC", e.Message, StringComparison.Ordinal);
    }

    internal static FastSessionClientSettings Trusting(string certificateFile)
    {
        var settings = new FastSessionClientSettings { TrustedCertificates = new X509Certificate2Collection() };
        settings.TrustedCertificates.ImportFromPemFile(certificateFile);
        return settings;
    }

    private static System.IO.TextWriter TextWriterNull => System.IO.TextWriter.Null;
}
