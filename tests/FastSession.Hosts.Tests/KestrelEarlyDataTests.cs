using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using FastSession.AspNetCore;
using FastSession.Tests.Interop;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FastSession.Hosts.Tests;

/// <summary>
/// Kestrel + UseFastSession with early data on and <see cref="FastSessionEarlyDataExtensions.UseTooEarlyForUnsafeRequests"/>: a GET that
/// arrives as 0-RTT runs and is marked (IsEarlyData, <c>Early-Data: 1</c>); a POST that arrives as 0-RTT gets 425 Too Early; the
/// same POST after a handshake runs.
/// </summary>
public sealed class KestrelEarlyDataTests : HostsTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly Peers _peers = new();

    public override void Dispose()
    {
        _peers.Dispose();
        base.Dispose();
    }

    [Fact]
    public async Task EarlyGet_RunsMarked_EarlyPost_Gets425_PostAfterHandshake_Runs()
    {
        int port = TestPki.FreePort();
        using X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(_peers.Pki.CertificateFile, _peers.Pki.KeyFile);
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
        await using WebApplication app = builder.Build();
        app.UseTooEarlyForUnsafeRequests();
        app.Run(context => context.Response.WriteAsync(
            $"{context.Request.Method} early={context.Features.Get<IFastSessionEarlyDataFeature>()?.IsEarlyData} header={context.Request.Headers["Early-Data"]}"));
        await app.StartAsync();

        using SslContext client = SslContext.CreateClient(new SslClientOptions
        {
            MinVersion = TlsVersion.Tls13,
            TrustedCertificatesPem = _peers.Pki.CertificatePem,
            DangerousEnableReplayableEarlyData = true,
            ApplicationProtocols = { "http/1.1" },
        });
        (string first, byte[] ticket) = await RequestAsync(client, port, "GET", null);
        Assert.StartsWith("HTTP/1.1 200", first, StringComparison.Ordinal);
        Assert.Contains("GET early=False header=\r\n", first, StringComparison.Ordinal);

        (string earlyPost, ticket) = await RequestAsync(client, port, "POST", ticket);
        Assert.StartsWith("HTTP/1.1 425", earlyPost, StringComparison.Ordinal);

        (string earlyGet, ticket) = await RequestAsync(client, port, "GET", ticket);
        Assert.StartsWith("HTTP/1.1 200", earlyGet, StringComparison.Ordinal);
        Assert.Contains("GET early=True header=1\r\n", earlyGet, StringComparison.Ordinal);

        (string latePost, _) = await RequestAsync(client, port, "POST", null); // the retry a client makes after 425: after the handshake
        Assert.StartsWith("HTTP/1.1 200", latePost, StringComparison.Ordinal);
        Assert.Contains("POST early=False header=\r\n", latePost, StringComparison.Ordinal);
        await app.StopAsync();
    }

    /// <summary>One request (as early data when <paramref name="ticket"/> is given); the response and the next ticket.</summary>
    private static async Task<(string Response, byte[] Ticket)> RequestAsync(SslContext client, int port, string method, byte[]? ticket)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        await using var tls = new FastSslStream(tcp.GetStream());
        byte[] request = Encoding.ASCII.GetBytes($"{method} / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        if (ticket is null)
        {
            await tls.AuthenticateAsClientAsync(client, "localhost", default, timeout.Token);
            await tls.WriteAsync(request, timeout.Token);
        }
        else
        {
            using SslSession session = SslSession.FromDer(ticket, client);
            await tls.AuthenticateAsClientAsync(client, "localhost", session, request, timeout.Token);
            Assert.Equal(SslEarlyDataStatus.Accepted, tls.EarlyDataStatus);
        }
        // The answer to early data comes first (0.5-RTT, before the client's Finished), the ticket after it: read, then take it.
        using var reader = new StreamReader(tls, Encoding.ASCII, leaveOpen: true);
        string response = await reader.ReadToEndAsync(timeout.Token);
        Assert.True(tls.Connection.TryTakeNewSession(out SslSession fresh), "the server completed the handshake and sent a ticket before closing");
        byte[] next;
        using (fresh)
        {
            next = fresh.ToDer();
        }
        while (tls.Connection.TryTakeNewSession(out SslSession extra))
        {
            extra.Dispose();
        }
        return (response, next);
    }
}
