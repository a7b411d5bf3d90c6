using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using Xunit;
using static FastSession.FastSessionTelemetry;

namespace FastSession.Tests.Observability;

/// <summary>
/// Resumption outcomes against the realistic peer, <c>openssl s_server</c>: FastSslStream through a session cache
/// (a miss, then resumed), a ticket of one s_server offered to another one (a restart: new ticket keys, so the server
/// declines), on the connection, as the meter's tag and in <c>fastsession connect --json</c>.
/// </summary>
public sealed class OpenSslOutcomeTests : LiveObjectTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TestPki _pki = new();
    private readonly List<ToolProcess> _processes = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(90));
    private readonly MetricRecorder _metrics = new();

    public override void Dispose()
    {
        _metrics.Dispose();
        foreach (ToolProcess process in _processes)
        {
            process.Dispose();
        }
        _timeout.Cancel();
        _timeout.Dispose();
        _pki.Dispose();
        base.Dispose();
    }

    public static TheoryData<string> Versions => new() { "1.2", "1.3" };

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task FastSslStreamWithACache_IsCacheMissThenResumed_ThenServerDeclinedByARestartedServer(string version)
    {
        TlsVersion tls = version == "1.2" ? TlsVersion.Tls12 : TlsVersion.Tls13;
        int port = await StartOpenSslServerAsync(version);
        using SslContext context = SslContext.CreateClient(new SslClientOptions { MinVersion = tls, MaxVersion = tls, TrustedCertificatesPem = _pki.CertificatePem });
        using var cache = new SslClientSessionCache();
        var last = new LastSession();
        context.SessionEstablished = (connection, session) =>
        {
            last.Replace(session.Duplicate());
            cache.OnSessionEstablished(connection, session);
        };
        try
        {
            Assert.Equal(SslResumptionOutcome.CacheMiss, await ConnectWithCacheAsync(context, cache, port));
            Assert.Equal(SslResumptionOutcome.Resumed, await ConnectWithCacheAsync(context, cache, port));

            // "Restart" the server: another s_server process has other ticket keys (and an empty session cache).
            int restarted = await StartOpenSslServerAsync(version);
            SslSession ticket = last.Take();
            Assert.False(ticket.IsNone);
            using (ticket)
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", restarted, _timeout.Token);
                await using var stream = new FastSslStream(tcp.GetStream());
                await stream.AuthenticateAsClientAsync(context, "localhost", ticket, _timeout.Token);
                Assert.False(stream.SessionReused);
                Assert.Equal(SslResumptionOutcome.ServerDeclined, stream.Connection.ResumptionOutcome);
                await stream.ShutdownAsync(_timeout.Token);
            }
        }
        finally
        {
            context.SessionEstablished = null;
            last.Take().Dispose();
        }

        Assert.Equal(3, _metrics.Sum(Handshakes, (SideTag, "client")));
        Assert.Equal(1, _metrics.Sum(Handshakes, (SideTag, "client"), (ResumptionOutcomeTag, "cache_miss"), (ResumedTag, false)));
        Assert.Equal(1, _metrics.Sum(Handshakes, (SideTag, "client"), (ResumptionOutcomeTag, "resumed"), (ResumedTag, true)));
        Assert.Equal(1, _metrics.Sum(Handshakes, (SideTag, "client"), (ResumptionOutcomeTag, "server_declined"), (ProtocolVersionTag, version)));
        Assert.Equal(3, _metrics.Of(HandshakeDuration, (SideTag, "client"), (ProtocolVersionTag, version)).Count);
        Assert.Equal(1, _metrics.Sum(CacheMisses));
        Assert.Equal(1, _metrics.Sum(CacheHits));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task ConnectJson_GivesEachConnectionsReason_AndASummaryOfReasons(string version)
    {
        int port = await StartOpenSslServerAsync(version);
        string sessOut = _pki.PathOf($"first-{version}.pem");
        (int code, string output, string error) = await RunCliAsync(
            "connect", $"127.0.0.1:{port}", "--servername", "localhost", "--cafile", _pki.CertificateFile, "--tls", version, "--reconnect", "2", "--json", "--sess-out", sessOut);
        Assert.True(code == 0, $"exit {code}: {error}\n{output}");
        JsonElement[] lines = ParseJsonLines(output);
        JsonElement[] connections = lines.Where(l => l.TryGetProperty("connection", out _)).ToArray();
        Assert.Equal(new string?[] { "cache_miss", null, null }, connections.Select(c => c.GetProperty("not_resumed_reason").GetString()).ToArray());
        Assert.Equal(JsonValueKind.Null, connections[1].GetProperty("not_resumed_reason").ValueKind);
        JsonElement reasons = lines.Single(l => l.TryGetProperty("summary", out _)).GetProperty("not_resumed_reasons");
        Assert.Equal("{\"cache_miss\":1}", reasons.GetRawText());

        // The session saved from this server, offered to a restarted one: offered, and declined.
        int restarted = await StartOpenSslServerAsync(version);
        (code, output, error) = await RunCliAsync("connect", $"127.0.0.1:{restarted}", "--servername", "localhost", "--cafile", _pki.CertificateFile, "--tls", version, "--json", "--sess-in", sessOut);
        Assert.True(code == 0, $"exit {code}: {error}\n{output}");
        JsonElement first = ParseJsonLines(output).First(l => l.TryGetProperty("connection", out _));
        Assert.Equal("server_declined", first.GetProperty("not_resumed_reason").GetString());
        Assert.False(first.GetProperty("reused").GetBoolean());
        Assert.Equal(1, _metrics.Sum(Handshakes, (SideTag, "client"), (ResumptionOutcomeTag, "server_declined")));
    }

    private async Task<SslResumptionOutcome> ConnectWithCacheAsync(SslContext context, SslClientSessionCache cache, int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port, _timeout.Token);
        await using var stream = new FastSslStream(tcp.GetStream());
        await stream.AuthenticateAsClientAsync(context, "localhost", port, cache, cancellationToken: _timeout.Token);
        // TLS 1.3 tickets arrive after the handshake: wait for one so the next connection can resume.
        await stream.WaitForSessionTicketsAsync(TimeSpan.FromSeconds(5), 1, _timeout.Token);
        SslResumptionOutcome outcome = stream.Connection.ResumptionOutcome;
        await stream.ShutdownAsync(_timeout.Token);
        return outcome;
    }

    private async Task<int> StartOpenSslServerAsync(string version)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = TestPki.FreePort();
            ToolProcess server = ToolProcess.Start("openssl", "s_server", "-accept", $"127.0.0.1:{port}",
                "-cert", _pki.CertificateFile, "-key", _pki.KeyFile, version == "1.2" ? "-tls1_2" : "-tls1_3", "-www");
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

    private async Task<(int Code, string Output, string Error)> RunCliAsync(params string[] args)
    {
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        int code = await FastSessionTool.RunAsync(args, output, error, _timeout.Token).WaitAsync(Timeout);
        return (code, output.Text, error.Text);
    }

    private static JsonElement[] ParseJsonLines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .ToArray();

    private sealed class LastSession
    {
        private readonly object _lock = new();
        private SslSession _session;

        public void Replace(SslSession session)
        {
            SslSession old;
            lock (_lock)
            {
                old = _session;
                _session = session;
            }
            old.Dispose();
        }

        public SslSession Take()
        {
            lock (_lock)
            {
                SslSession s = _session;
                _session = default;
                return s;
            }
        }
    }
}
