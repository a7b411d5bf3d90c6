using System;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using FastSession.AspNetCore;
using FastSession.Http;
using FastSession.Samples;
using FastSession.Tests.Interop;
using FastSession.Yarp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace FastSession.Hosts.Tests;

/// <summary>Client certificates through the three hosts, against openssl s_server -Verify, curl --cert and openssl s_client -cert.</summary>
public sealed class MutualTlsTests : HostsTest
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
    public async Task HttpClient_ClientCertificate_IsSentToAServerThatRequiresOne(string version)
    {
        (string certificate, string key) = await _peers.CreateClientCertificateAsync("http-client");
        int port = await _peers.StartOpenSslServerAsync(version, "-Verify", "1", "-CAfile", certificate);
        using X509Certificate2 client = X509Certificate2.CreateFromPemFile(certificate, key);
        FastSessionClientSettings settings = HttpClientTests.Trusting(_peers.Pki.CertificateFile);
        settings.ClientCertificates = new X509Certificate2Collection(client);
        using (var http = new HttpClient(new FastSessionHttpHandler(settings)))
        {
            string page = await http.GetStringAsync($"https://localhost:{port}/");
            Assert.Contains("CN=http-client", page, StringComparison.Ordinal); // s_server -www prints the client certificate
        }

        using var without = new HttpClient(new FastSessionHttpHandler(HttpClientTests.Trusting(_peers.Pki.CertificateFile)));
        await Assert.ThrowsAsync<HttpRequestException>(() => without.GetStringAsync($"https://localhost:{port}/"));
    }

    [Fact]
    public void HttpClient_ClientCertificateWithoutKey_IsRefusedAtTheFirstRequest()
    {
        using X509Certificate2 withKey = KestrelSample.Ephemeral();
        using X509Certificate2 publicOnly = X509CertificateLoader.LoadCertificate(withKey.RawData);
        var settings = new FastSessionClientSettings { ClientCertificates = new X509Certificate2Collection(publicOnly) };
        using var handler = new FastSessionHttpHandler(settings);
        ArgumentException e = Assert.Throws<ArgumentException>(() => handler.Connector);
        Assert.Contains("private key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kestrel_RequireCertificate_CurlWithCertificateIsServed_WithoutIsRefused()
    {
        (string certificate, string key) = await _peers.CreateClientCertificateAsync("curl-client");
        using X509Certificate2 issuer = X509CertificateLoader.LoadCertificateFromFile(certificate);
        (WebApplication app, int port) = await StartAsync(options =>
        {
            options.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            options.ClientCertificateIssuers = new X509Certificate2Collection(issuer);
        });
        await using (app)
        {
            string served = await Peers.RunAsync("", "curl", "-sS", "--cacert", _peers.Pki.CertificateFile,
                "--cert", certificate, "--key", key, $"https://localhost:{port}/");
            (int refusedCode, string refused) = await ToolProcess.RunAsync(Peers.Timeout, "", "curl", "-sS", "--cacert", _peers.Pki.CertificateFile,
                $"https://localhost:{port}/");
            await app.StopAsync();
            Assert.Contains("client=CN=curl-client", served, StringComparison.Ordinal);
            Assert.True(refusedCode != 0, refused);
            Assert.DoesNotContain("reused=", refused, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Kestrel_AllowCertificate_ServesClientsWithAndWithout()
    {
        (string certificate, string key) = await _peers.CreateClientCertificateAsync("optional-client");
        using X509Certificate2 issuer = X509CertificateLoader.LoadCertificateFromFile(certificate);
        (WebApplication app, int port) = await StartAsync(options =>
        {
            options.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            options.ClientCertificateIssuers = new X509Certificate2Collection(issuer);
        });
        await using (app)
        {
            string with = await Peers.RunAsync("", "curl", "-sS", "--cacert", _peers.Pki.CertificateFile,
                "--cert", certificate, "--key", key, $"https://localhost:{port}/");
            string without = await Peers.RunAsync("", "curl", "-sS", "--cacert", _peers.Pki.CertificateFile, $"https://localhost:{port}/");
            await app.StopAsync();
            Assert.Contains("client=CN=optional-client", with, StringComparison.Ordinal);
            Assert.StartsWith("HTTP/2 TLSv1.3", without, StringComparison.Ordinal);
            Assert.DoesNotContain("client=", without, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Kestrel_ClientCertificateValidation_CanRefuseAVerifiedCertificate()
    {
        (string certificate, string key) = await _peers.CreateClientCertificateAsync("refused-client");
        using X509Certificate2 issuer = X509CertificateLoader.LoadCertificateFromFile(certificate);
        string? seen = null;
        (WebApplication app, int port) = await StartAsync(options =>
        {
            options.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            options.ClientCertificateIssuers = new X509Certificate2Collection(issuer);
            options.ClientCertificateValidation = (c, _, errors) =>
            {
                seen = $"{c.Subject} {errors}";
                return false;
            };
        });
        await using (app)
        {
            // Kestrel's handshake metric of this app records the refusal as a failed handshake, as it does for SslStream.
            IMeterFactory factory = app.Services.GetRequiredService<IMeterFactory>();
            var errors = new ConcurrentQueue<object?>();
            using var listener = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Scope == factory && instrument.Name == "kestrel.tls_handshake.duration")
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
                errors.Enqueue(tags.ToArray().FirstOrDefault(p => p.Key == "error.type").Value));
            listener.Start();
            (int code, string output) = await ToolProcess.RunAsync(Peers.Timeout, "", "curl", "-sS", "--cacert", _peers.Pki.CertificateFile,
                "--cert", certificate, "--key", key, $"https://localhost:{port}/");
            await app.StopAsync();
            Assert.True(code != 0, output);
            Assert.DoesNotContain("reused=", output, StringComparison.Ordinal); // no page
            Assert.Equal("CN=refused-client None", seen);
            Assert.Equal(typeof(System.Security.Authentication.AuthenticationException).FullName, Assert.Single(errors));
        }
    }

    [Theory]
    [InlineData("1.2")]
    [InlineData("1.3")]
    public async Task Kestrel_OpenSslClientCert_ResumedConnectionStillCarriesTheCertificate(string version)
    {
        (string certificate, string key) = await _peers.CreateClientCertificateAsync("s-client");
        using X509Certificate2 issuer = X509CertificateLoader.LoadCertificateFromFile(certificate);
        (WebApplication app, int port) = await StartAsync(options =>
        {
            options.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            options.ClientCertificateIssuers = new X509Certificate2Collection(issuer);
        });
        await using (app)
        {
            string session = _peers.Pki.PathOf("mtls-" + version + ".pem");
            string flag = version == "1.2" ? "-tls1_2" : "-tls1_3";
            const string Request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            string first = await Peers.RunAsync(Request, "openssl", "s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost",
                flag, "-cert", certificate, "-key", key, "-ign_eof", "-sess_out", session);
            string second = await Peers.RunAsync(Request, "openssl", "s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost",
                flag, "-cert", certificate, "-key", key, "-ign_eof", "-sess_in", session);
            await app.StopAsync();
            Assert.Contains($"TLSv{version} reused=False outcome=NotOffered", first, StringComparison.Ordinal);
            Assert.Contains("client=CN=s-client", first, StringComparison.Ordinal);
            Assert.Contains($"TLSv{version} reused=True outcome=Resumed", second, StringComparison.Ordinal);
            Assert.Contains("client=CN=s-client", second, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Yarp_ClusterClientCertificate_IsSentToTheBackend()
    {
        (string certificate, string key) = await _peers.CreateClientCertificateAsync("yarp-cluster");
        int backend = await _peers.StartOpenSslServerAsync("1.3", "-Verify", "1", "-CAfile", certificate);
        using X509Certificate2 client = X509Certificate2.CreateFromPemFile(certificate, key);
        FastSessionClientSettings defaults = HttpClientTests.Trusting(_peers.Pki.CertificateFile);
        using var factory = new FastSessionForwarderHttpClientFactory(NullLogger<ForwarderHttpClientFactory>.Instance, defaults,
            (context, handler) =>
            {
                if (context.ClusterId == "mtls")
                {
                    handler.SslOptions.ClientCertificates = new X509CertificateCollection { client };
                }
            });
        using HttpMessageInvoker mtls = factory.CreateClient(new ForwarderHttpClientContext { ClusterId = "mtls", NewConfig = HttpClientConfig.Empty });
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://localhost:{backend}/");
        using HttpResponseMessage response = await mtls.SendAsync(request, default);
        Assert.Contains("CN=yarp-cluster", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using HttpMessageInvoker plain = factory.CreateClient(new ForwarderHttpClientContext { ClusterId = "plain", NewConfig = HttpClientConfig.Empty });
        using var again = new HttpRequestMessage(HttpMethod.Get, $"https://localhost:{backend}/");
        HttpResponseMessage? leaked = null;
        try
        {
            leaked = await plain.SendAsync(again, default);
        }
        catch (HttpRequestException)
        {
        }
        Assert.True(leaked is null, "the cluster without a certificate got a page: " + (leaked is null ? "" : await leaked.Content.ReadAsStringAsync()));
    }

    private async Task<(WebApplication, int)> StartAsync(Action<FastSessionServerOptions> configure)
    {
        int port = TestPki.FreePort();
        X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(_peers.Pki.CertificateFile, _peers.Pki.KeyFile);
        WebApplication app = KestrelSample.Build(port, certificate, configure: configure);
        await app.StartAsync();
        return (app, port);
    }
}
