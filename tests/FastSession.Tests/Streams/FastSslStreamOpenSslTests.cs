using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using Xunit;

namespace FastSession.Tests.Streams;

/// <summary>
/// Clean close by default against the real <c>openssl s_server -www</c>: a client that reads its page and disposes the
/// stream without <see cref="FastSslStream.ShutdownAsync"/> (what HttpClient, YARP and Kestrel do) still leaves a session
/// that resumes the next connection.
/// </summary>
public sealed class FastSslStreamOpenSslTests : LiveObjectTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TestPki _pki = new();
    private readonly List<ToolProcess> _processes = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(90));

    public override void Dispose()
    {
        foreach (ToolProcess process in _processes)
        {
            process.Dispose();
        }
        _timeout.Dispose();
        _pki.Dispose();
        base.Dispose();
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task DisposeWithoutShutdown_AfterAPage_ResumesAtLeast19Of20NewConnections(TlsVersion version)
    {
        int port = await StartOpenSslServerAsync(version);
        // Trusts the test certificate explicitly: the client verifies its peer.
        using SslContext context = SslContext.CreateClient(new SslClientOptions
        {
            MinVersion = version,
            MaxVersion = version,
            TrustedCertificatesPem = _pki.CertificatePem,
        });
        using var cache = new SslClientSessionCache();
        context.SessionEstablished = cache.OnSessionEstablished;
        int resumed = 0;
        for (int i = 0; i <= 20; i++)
        {
            using var tcp = new TcpClient { NoDelay = true };
            await tcp.ConnectAsync("127.0.0.1", port, _timeout.Token);
            var tls = new FastSslStream(tcp.GetStream());
            await tls.AuthenticateAsClientAsync(context, "localhost", port, cache, null, _timeout.Token).WaitAsync(Timeout);
            resumed += i > 0 && tls.SessionReused ? 1 : 0;
            await tls.WriteAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray(), _timeout.Token);
            await ReadPageAsync(tls);
            await tls.DisposeAsync(); // no ShutdownAsync: Dispose closes cleanly
        }
        context.SessionEstablished = null;
        Assert.True(resumed >= 19, $"{resumed} of 20 connections resumed");
    }

    /// <summary>Reads the s_server page up to its end marker (as an HTTP client reads a response), not to the transport's end.</summary>
    private async Task ReadPageAsync(FastSslStream tls)
    {
        var page = new StringBuilder();
        byte[] buffer = new byte[4096];
        while (!page.ToString().Contains("</HTML>", StringComparison.OrdinalIgnoreCase))
        {
            int n = await tls.ReadAsync(buffer, _timeout.Token).AsTask().WaitAsync(Timeout);
            Assert.True(n > 0, "s_server ended before its page did");
            page.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    private async Task<int> StartOpenSslServerAsync(TlsVersion version)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = TestPki.FreePort();
            ToolProcess server = ToolProcess.Start("openssl", "s_server", "-accept", $"127.0.0.1:{port}",
                "-cert", _pki.CertificateFile, "-key", _pki.KeyFile, version == TlsVersion.Tls12 ? "-tls1_2" : "-tls1_3", "-www");
            _processes.Add(server);
            try
            {
                await server.WaitForOutputAsync(o => o.Contains("ACCEPT", StringComparison.Ordinal), Timeout, "ACCEPT from s_server");
                return port;
            }
            catch (TimeoutException) when (attempt < 2 && server.HasExited)
            {
                // The port was taken between probing and binding: try another.
            }
        }
    }
}
