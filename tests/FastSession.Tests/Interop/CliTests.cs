using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli;
using Xunit;

namespace FastSession.Tests.Interop;

/// <summary>
/// The <c>fastsession</c> tool in-process: the demo, bench's JSON, serve/connect against each other, and the exit
/// codes (0 ok, 1 TLS/network failure, 2 usage or bad input) with exactly one stderr line and no stack trace.
/// </summary>
public sealed class CliTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Demo_IsTheDefault_AndShowsResumptionForBothProtocols()
    {
        // No arguments: the demo, with its default (short) measurements.
        (int code, string output, string error) = await RunAsync();
        Assert.True(code == 0, error);
        Assert.Equal("", error);
        Assert.Contains("TLSv1.2 ECDHE-", output, StringComparison.Ordinal);
        Assert.Contains("TLSv1.3 TLS_", output, StringComparison.Ordinal);
        string reused = output.Split('\n').Single(l => l.Contains("reused (client / server)", StringComparison.Ordinal));
        Assert.Equal(2, reused.Split("yes / yes").Length - 1);
        string stale = output.Split('\n').Single(l => l.Contains("used after the next engine call", StringComparison.Ordinal));
        Assert.Equal(2, stale.Split("InvalidOperationException (stale)").Length - 1);
        Assert.Contains("2 tickets", output, StringComparison.Ordinal);
        Assert.Contains("resumed", output, StringComparison.Ordinal);
        Assert.Contains("allocated B/handshake", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_Json_ReportsBothImplementationsAndBothModes()
    {
        (int code, string output, string error) = await RunAsync("bench", "--tls", "1.3", "--transport", "memory", "--seconds", "0.2", "--json");
        Assert.True(code == 0, error);
        JsonElement[] all = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
        // Reference lines (the C loop, when its library is built) carry a "driver"; the contenders do not.
        JsonElement[] lines = all.Where(l => !l.TryGetProperty("driver", out _)).ToArray();
        Assert.Equal(4, lines.Length);
        foreach (JsonElement line in lines)
        {
            Assert.Equal("memory", line.GetProperty("transport").GetString());
            Assert.Equal("1.3", line.GetProperty("protocol").GetString());
            Assert.True(line.GetProperty("handshakes_per_sec").GetDouble() > 0);
            Assert.True(line.GetProperty("allocated_bytes_per_handshake").GetDouble() >= 0);
        }
        Assert.Equal(new[] { "fastsession", "sslstream" }, lines.Select(l => l.GetProperty("impl").GetString()).Distinct().OrderBy(s => s).ToArray());
        Assert.Equal(new[] { "full", "resumed" }, lines.Select(l => l.GetProperty("mode").GetString()).Distinct().OrderBy(s => s).ToArray());
        JsonElement fastResumed = lines.Single(l => l.GetProperty("impl").GetString() == "fastsession" && l.GetProperty("mode").GetString() == "resumed");
        Assert.Equal(fastResumed.GetProperty("handshakes").GetInt32(), fastResumed.GetProperty("reused").GetInt32());
    }

    [Theory]
    [InlineData("1.2")]
    [InlineData("1.3")]
    public async Task ServeAndConnect_ResumeEachOther(string version)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var serveOutput = new CapturingWriter();
        var serveError = new CapturingWriter();
        Task<int> serve = FastSessionTool.RunAsync(new[] { "serve", "--accept", "127.0.0.1:0", "--tls", version, "--count", "4", "--cert", _pki.CertificateFile, "--key", _pki.KeyFile },
            serveOutput, serveError, cancel.Token);
        try
        {
            await ConnectAndCheckAsync(version, serve, serveOutput, serveError, _pki.CertificateFile);
        }
        finally
        {
            cancel.Cancel(); // A failed check must not leave the server listening.
        }
    }

    private static async Task ConnectAndCheckAsync(string version, Task<int> serve, CapturingWriter serveOutput, CapturingWriter serveError, string trustedCertificateFile)
    {
        string listening = await serveOutput.WaitForLineAsync(l => l.StartsWith("listening on ", StringComparison.Ordinal), Timeout, serve);
        string endpoint = listening["listening on ".Length..].Split(' ')[0];

        // connect verifies by default: it trusts the server's self-signed certificate (CN=localhost) explicitly.
        (int code, string output, string error) = await RunAsync("connect", endpoint, "--reconnect", "3", "--cafile", trustedCertificateFile, "--servername", "localhost");
        Assert.True(code == 0, error);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("#0 New, TLSv" + version, lines[0], StringComparison.Ordinal);
        for (int i = 1; i <= 3; i++)
        {
            Assert.StartsWith($"#{i} Reused, TLSv{version}", lines[i], StringComparison.Ordinal);
        }
        Assert.Contains("reconnects resumed 3/3", lines[4], StringComparison.Ordinal);

        Assert.Equal(0, await serve.WaitAsync(Timeout));
        Assert.Equal(3, serveOutput.Lines.Count(l => l.Contains(" Reused, ", StringComparison.Ordinal)));
        Assert.Equal("", serveError.Text);
    }

    [Fact]
    public async Task Inspect_MalformedPem_ExitsTwoWithOneLine()
    {
        string file = _pki.PathOf("bad.pem");
        File.WriteAllText(file, "-----BEGIN SSL SESSION PARAMETERS-----\nnot base64 at all!\n-----END SSL SESSION PARAMETERS-----\n");
        await AssertFailsAsync(2, "inspect", file);
        File.WriteAllText(file, "hello");
        await AssertFailsAsync(2, "inspect", file);
        await AssertFailsAsync(2, "inspect", _pki.PathOf("missing.pem"));
    }

    [Fact]
    public async Task UsageErrors_ExitTwo()
    {
        await AssertFailsAsync(2, "no-such-command");
        await AssertFailsAsync(2, "connect", "127.0.0.1");
        await AssertFailsAsync(2, "connect", "127.0.0.1:99999");
        await AssertFailsAsync(2, "connect", "127.0.0.1:443", "--tls", "1.1");
        await AssertFailsAsync(2, "connect", "127.0.0.1:443", "--sess-in", _pki.PathOf("missing.pem"));
        await AssertFailsAsync(2, "bench", "--transport", "carrier-pigeon");
        await AssertFailsAsync(2, "serve", "--cert", _pki.CertificateFile);
        await AssertFailsAsync(2, "serve", "--cert", _pki.KeyFile, "--key", _pki.KeyFile, "--accept", "127.0.0.1:0");
    }

    [Fact]
    public async Task NetworkFailures_ExitOne()
    {
        int closed = TestPki.FreePort();
        await AssertFailsAsync(1, "connect", $"127.0.0.1:{closed}");

        // A listener that is not TLS: it answers the ClientHello with plain text.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        Task plain = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            byte[] buffer = new byte[4096];
            await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None);
            await socket.SendAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray(), System.Net.Sockets.SocketFlags.None);
            socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
        });
        string error = await AssertFailsAsync(1, "connect", $"127.0.0.1:{port}");
        Assert.Contains("TLS", error, StringComparison.Ordinal);
        await plain.WaitAsync(Timeout);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        using var cancel = new CancellationTokenSource(Timeout);
        int code = await FastSessionTool.RunAsync(args, output, error, cancel.Token).WaitAsync(Timeout);
        return (code, output.Text, error.Text);
    }

    /// <summary>Runs the tool, expects <paramref name="exitCode"/> and a single "fastsession: ..." line (plus at most a usage hint); returns it.</summary>
    private static async Task<string> AssertFailsAsync(int exitCode, params string[] args)
    {
        (int code, _, string error) = await RunAsync(args);
        Assert.True(code == exitCode, $"'{string.Join(' ', args)}' exited {code}, expected {exitCode}; stderr: {error}");
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.StartsWith("fastsession: ", lines[0], StringComparison.Ordinal);
        Assert.True(lines.Length == 1 || (lines.Length == 2 && lines[1].StartsWith("Run 'fastsession --help'", StringComparison.Ordinal)), error);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\t', lines[0]);
        return lines[0];
    }
}
