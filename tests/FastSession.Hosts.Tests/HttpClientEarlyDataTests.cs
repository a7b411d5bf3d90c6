using System;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using FastSession.AspNetCore;
using FastSession.Http;
using FastSession.Tests.Interop;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FastSession.Hosts.Tests;

/// <summary>
/// FastSessionHttpHandler with <see cref="FastSessionClientSettings.DangerousEnableReplayableEarlyData"/> against Kestrel with
/// UseFastSession (early data on) and UseTooEarlyForUnsafeRequests: a resumed GET travels as early data, a POST on a resumed
/// connection never does, a 425 Too Early is retried once after the handshake, and with the setting off nothing is sent early.
/// Each step uses a new handler over one connector (one TCP connection each, resuming from the connector's session cache).
/// </summary>
public sealed class HttpClientEarlyDataTests : HostsTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly Peers _peers = new();
    private int _strictRequests;

    public override void Dispose()
    {
        _peers.Dispose();
        base.Dispose();
    }

    [Fact]
    public async Task ResumedGet_IsEarlyData_ResumedPost_IsNot()
    {
        (WebApplication app, int port) = await StartServerAsync();
        await using (app)
        {
            using var connector = new FastSessionConnector(Settings(earlyData: true));
            Assert.Equal("GET early=False header= status=NotSent", await SendAsync(connector, HttpMethod.Get, port, "/"));
            // Resumes (the ticket of the full handshake allows early data), but a POST waits for the handshake.
            Assert.Equal("POST early=False header= status=NotSent", await SendAsync(connector, HttpMethod.Post, port, "/"));
            Assert.Equal(1, connector.Statistics.Resumed);
            Assert.Equal("GET early=True header=1 status=Accepted", await SendAsync(connector, HttpMethod.Get, port, "/"));
            Assert.Equal(2, connector.Statistics.Resumed);
            // DELETE is idempotent but not safe: never early (resumed or not: the last ticket came after the 0.5-RTT answer).
            Assert.Equal("DELETE early=False header= status=NotSent", await SendAsync(connector, HttpMethod.Delete, port, "/"));
            Assert.Equal(0, connector.Statistics.Failed);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task TooEarly_IsRetriedOnce_AfterTheHandshake()
    {
        (WebApplication app, int port) = await StartServerAsync();
        await using (app)
        {
            using var connector = new FastSessionConnector(Settings(earlyData: true));
            Assert.Equal("GET early=False header= status=NotSent", await SendAsync(connector, HttpMethod.Get, port, "/"));
            // The application refuses early data on /strict even for a GET: 425, then the handler's retry on the same connection.
            Assert.Equal("GET early=False header= status=Accepted", await SendAsync(connector, HttpMethod.Get, port, "/strict"));
            Assert.Equal(2, Volatile.Read(ref _strictRequests));
            Assert.Equal(1, connector.Statistics.Resumed);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task OffByDefault_ResumedGet_SendsNothingEarly()
    {
        Assert.False(new FastSessionClientSettings().DangerousEnableReplayableEarlyData);
        (WebApplication app, int port) = await StartServerAsync();
        await using (app)
        {
            using var connector = new FastSessionConnector(Settings(earlyData: false));
            Assert.Equal("GET early=False header= status=NotSent", await SendAsync(connector, HttpMethod.Get, port, "/"));
            Assert.Equal("GET early=False header= status=NotSent", await SendAsync(connector, HttpMethod.Get, port, "/"));
            Assert.Equal(1, connector.Statistics.Resumed);
            // Off: a 425 is the application's answer and is returned as is, not retried.
            using var handler = new FastSessionHttpHandler(connector);
            using var client = new HttpClient(handler) { Timeout = Timeout };
            using HttpResponseMessage response = await client.GetAsync($"https://localhost:{port}/always425");
            Assert.Equal(425, (int)response.StatusCode);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task SyncSend_ResumedGet_IsEarlyData()
    {
        (WebApplication app, int port) = await StartServerAsync();
        await using (app)
        {
            using var connector = new FastSessionConnector(Settings(earlyData: true));
            Assert.Equal("GET early=False header= status=NotSent", await Task.Run(() => Send(connector, port)));
            Assert.Equal("GET early=True header=1 status=Accepted", await Task.Run(() => Send(connector, port)));
            await app.StopAsync();
        }

        static string Send(FastSessionConnector connector, int port)
        {
            using var handler = new FastSessionHttpHandler(connector);
            using var client = new HttpClient(handler) { Timeout = Timeout };
            using HttpResponseMessage response = client.Send(new HttpRequestMessage(HttpMethod.Get, $"https://localhost:{port}/"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new System.IO.StreamReader(response.Content.ReadAsStream());
            return reader.ReadToEnd();
        }
    }

    [Fact]
    public async Task DeferredHandshake_UntrustedServer_FailsTheRequest()
    {
        (WebApplication app, int port) = await StartServerAsync();
        await using (app)
        {
            // The system store does not trust the test PKI: the handshake, run at the first write, fails inside the request.
            using var connector = new FastSessionConnector(new FastSessionClientSettings { DangerousEnableReplayableEarlyData = true });
            using var handler = new FastSessionHttpHandler(connector);
            using var client = new HttpClient(handler) { Timeout = Timeout };
            HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"https://localhost:{port}/"));
            Assert.Equal(HttpRequestError.SecureConnectionError, e.HttpRequestError);
            Assert.IsType<SslHandshakeException>(e.InnerException);
            Assert.Contains("certificate verification failed", e.Message, StringComparison.Ordinal);
            Assert.Equal(new FastSessionConnectorStatistics(0, 0, 1), connector.Statistics);
            await app.StopAsync();
        }
    }

    [Fact]
    public void RetryPolicy_OnlySafeMethodsWithoutContent()
    {
        Assert.True(FastSessionHttpHandler.MayRetryTooEarly(new HttpRequestMessage(HttpMethod.Get, "https://localhost/")));
        Assert.True(FastSessionHttpHandler.MayRetryTooEarly(new HttpRequestMessage(HttpMethod.Head, "https://localhost/")));
        Assert.False(FastSessionHttpHandler.MayRetryTooEarly(new HttpRequestMessage(HttpMethod.Post, "https://localhost/")));
        Assert.False(FastSessionHttpHandler.MayRetryTooEarly(new HttpRequestMessage(HttpMethod.Put, "https://localhost/")));
        Assert.False(FastSessionHttpHandler.MayRetryTooEarly(new HttpRequestMessage(HttpMethod.Patch, "https://localhost/")));
        Assert.False(FastSessionHttpHandler.MayRetryTooEarly(new HttpRequestMessage(HttpMethod.Get, "https://localhost/") { Content = new StringContent("x") }));
        Assert.True(FastSessionEarlyDataHttpStream.IsSafeRequestStart("OPTIONS * HTTP/1.1\r\n"u8));
        Assert.False(FastSessionEarlyDataHttpStream.IsSafeRequestStart("POST / HTTP/1.1\r\n"u8));
        Assert.False(FastSessionEarlyDataHttpStream.IsSafeRequestStart("GETX / HTTP/1.1\r\n"u8));
        Assert.False(FastSessionEarlyDataHttpStream.IsSafeRequestStart(default));
    }

    private FastSessionClientSettings Settings(bool earlyData)
    {
        FastSessionClientSettings settings = HttpClientTests.Trusting(_peers.Pki.CertificateFile);
        settings.DangerousEnableReplayableEarlyData = earlyData;
        return settings;
    }

    /// <summary>One request on a new handler (so a new connection), closed before the next; the response body.</summary>
    private static async Task<string> SendAsync(FastSessionConnector connector, HttpMethod method, int port, string path)
    {
        using var handler = new FastSessionHttpHandler(connector);
        using var client = new HttpClient(handler) { Timeout = Timeout };
        using var request = new HttpRequestMessage(method, $"https://localhost:{port}{path}");
        using HttpResponseMessage response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<(WebApplication App, int Port)> StartServerAsync()
    {
        int port = TestPki.FreePort();
        X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(_peers.Pki.CertificateFile, _peers.Pki.KeyFile);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.UseFastSession(o =>
            {
                o.ServerCertificate = certificate;
                o.DangerousEnableReplayableEarlyData = true;
            });
        }));
        WebApplication app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(certificate.Dispose);
        app.UseTooEarlyForUnsafeRequests();
        app.Run(context =>
        {
            IFastSessionEarlyDataFeature? early = context.Features.Get<IFastSessionEarlyDataFeature>();
            if (context.Request.Path == "/always425" || (context.Request.Path == "/strict" && Interlocked.Increment(ref _strictRequests) > 0 && early?.IsEarlyData == true))
            {
                context.Response.StatusCode = 425; // an origin may refuse early data for any request (RFC 8470 section 5.2)
                return Task.CompletedTask;
            }
            return context.Response.WriteAsync($"{context.Request.Method} early={early?.IsEarlyData} header={context.Request.Headers["Early-Data"]} status={early?.Status}");
        });
        await app.StartAsync();
        return (app, port);
    }
}
