using System;
using System.Net.Http;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using FastSession.Http;
using FastSession.Samples;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using FastSession.Yarp;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace FastSession.Hosts.Tests;

/// <summary>YARP (the YarpSample proxy) forwarding through FastSession to openssl s_server and to Kestrel.</summary>
public sealed class YarpTests : HostsTest
{
    private readonly Peers _peers = new();

    public override void Dispose()
    {
        _peers.Dispose();
        base.Dispose();
    }

    [Theory]
    [InlineData("1.2")]
    [InlineData("1.3")]
    public async Task EveryNewBackendConnection_Resumes_AsOpenSslServerReports(string version)
    {
        int backend = await _peers.StartOpenSslServerAsync(version);
        int port = TestPki.FreePort();
        await using WebApplication proxy = YarpSample.Build(port, $"https://localhost:{backend}/", _peers.Pki.CertificateFile);
        await proxy.StartAsync();
        using var client = new HttpClient();
        int reused = 0;
        for (int i = 0; i < 10; i++)
        {
            // s_server -www closes after each page: every request is a new backend connection.
            string page = await client.GetStringAsync($"http://127.0.0.1:{port}/");
            reused += page.Contains("Reused, TLSv" + version, StringComparison.Ordinal) ? 1 : 0;
        }
        string stats = await client.GetStringAsync($"http://127.0.0.1:{port}/fastsession");
        await proxy.StopAsync();
        Assert.Equal(9, reused);
        Assert.Equal("connections=10 resumed=9 failed=0\n", stats);
    }

    [Fact]
    public async Task DefaultClusterVersion_IsHttp2_ToAKestrelBackendWithFastSession()
    {
        int backendPort = TestPki.FreePort();
        using X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(_peers.Pki.CertificateFile, _peers.Pki.KeyFile);
        await using WebApplication backend = KestrelSample.Build(backendPort, certificate);
        await backend.StartAsync();
        int port = TestPki.FreePort();
        await using WebApplication proxy = YarpSample.Build(port, $"https://localhost:{backendPort}/", _peers.Pki.CertificateFile);
        await proxy.StartAsync();
        using var client = new HttpClient();
        string page = await client.GetStringAsync($"http://127.0.0.1:{port}/");
        await proxy.StopAsync();
        await backend.StopAsync();
        Assert.StartsWith("HTTP/2 TLSv1.3 reused=False outcome=NotOffered alpn=h2", page, StringComparison.Ordinal);
    }

    [Fact]
    public void ClusterSettings_FastSessionCannotHonour_AreRefused()
    {
        using var factory = new FastSessionForwarderHttpClientFactory(NullLogger<ForwarderHttpClientFactory>.Instance);
#pragma warning disable SYSLIB0039 // TLS 1.1 named on purpose: it must be refused.
        NotSupportedException tls11 = Assert.Throws<NotSupportedException>(() => factory.CreateClient(new ForwarderHttpClientContext
        {
            ClusterId = "old",
            NewConfig = new HttpClientConfig { SslProtocols = SslProtocols.Tls11 },
        }));
#pragma warning restore SYSLIB0039
        Assert.Contains("Cluster 'old'", tls11.Message, StringComparison.Ordinal);
        NotSupportedException proxy = Assert.Throws<NotSupportedException>(() => factory.CreateClient(new ForwarderHttpClientContext
        {
            ClusterId = "proxied",
            NewConfig = new HttpClientConfig { WebProxy = new WebProxyConfig { Address = new Uri("http://127.0.0.1:3128") } },
        }));
        Assert.Contains("WebProxy", proxy.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DangerousAcceptAnyServerCertificate_IsHonoured_OtherwiseTheBackendIsVerified()
    {
        int backend = await _peers.StartOpenSslServerAsync("1.3");
        using var factory = new FastSessionForwarderHttpClientFactory(NullLogger<ForwarderHttpClientFactory>.Instance);
        using HttpMessageInvoker verifying = factory.CreateClient(new ForwarderHttpClientContext { ClusterId = "a", NewConfig = HttpClientConfig.Empty });
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://localhost:{backend}/");
        HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => verifying.SendAsync(request, default));
        Assert.IsAssignableFrom<AuthenticationException>(e.InnerException);

        using HttpMessageInvoker accepting = factory.CreateClient(new ForwarderHttpClientContext
        {
            ClusterId = "b",
            NewConfig = new HttpClientConfig { DangerousAcceptAnyServerCertificate = true },
        });
        using var again = new HttpRequestMessage(HttpMethod.Get, $"https://localhost:{backend}/");
        using HttpResponseMessage response = await accepting.SendAsync(again, default);
        Assert.Contains("TLSv1.3", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(new FastSessionConnectorStatistics(1, 0, 1), factory.Statistics);
    }
}
