using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli;
using FastSession.Tests.Interop;
using Xunit;

namespace FastSession.Tests.EarlyData;

/// <summary>
/// 0-RTT against the real <c>openssl</c> binary, both ways: <c>s_client -sess_in F -early_data DATA</c> against
/// <c>fastsession serve --early-data</c> reports "Early data was accepted"; <c>fastsession connect --early-data FILE</c> against
/// <c>s_server -early_data</c> has its data accepted (s_server prints it between "Early data received:" and "End of early data").
/// </summary>
public sealed class EarlyDataOpenSslInteropTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const string Request = "GET /zero-rtt HTTP/1.0\r\n\r\n";
    private readonly TestPki _pki = new();
    private readonly List<ToolProcess> _processes = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(90));

    public void Dispose()
    {
        foreach (ToolProcess process in _processes)
        {
            process.Dispose();
        }
        _timeout.Cancel();
        _timeout.Dispose();
        _pki.Dispose();
    }

    [Fact]
    public async Task OpenSslClient_EarlyData_IsAcceptedBy_FastSessionServe()
    {
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        Task<int> serve = FastSessionTool.RunAsync(
            new[] { "serve", "--accept", "127.0.0.1:0", "--early-data", "--count", "3", "--cert", _pki.CertificateFile, "--key", _pki.KeyFile }, output, error, _timeout.Token);
        string listening = await output.WaitForLineAsync(l => l.StartsWith("listening on 127.0.0.1:", StringComparison.Ordinal), Timeout, serve);
        int port = int.Parse(listening["listening on 127.0.0.1:".Length..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        string session = _pki.PathOf("s_client-early.pem");
        string data = _pki.PathOf("early.txt");
        await File.WriteAllTextAsync(data, Request);

        string first = await OpenSslClientAsync(port, "-sess_out", session);
        Assert.Contains("New, TLSv1.3", first, StringComparison.Ordinal);
        string replayCopy = _pki.PathOf("s_client-early-copy.pem");
        File.Copy(session, replayCopy);

        string second = await OpenSslClientAsync(port, "-sess_in", session, "-early_data", data);
        Assert.Contains("Reused, TLSv1.3", second, StringComparison.Ordinal);
        Assert.Contains("Early data was accepted", second, StringComparison.Ordinal);
        Assert.Contains(Request.TrimEnd(), second, StringComparison.Ordinal); // echoed back

        // The same ticket and early data again (what a replaying attacker sends): OpenSSL's single-use ticket is gone, 1-RTT.
        string replay = await OpenSslClientAsync(port, "-sess_in", replayCopy, "-early_data", data);
        Assert.Contains("Early data was rejected", replay, StringComparison.Ordinal);

        Assert.Equal(0, await serve.WaitAsync(Timeout));
        Assert.Contains(output.Lines, l => l.StartsWith("#2 Reused", StringComparison.Ordinal) && l.Contains($"early data accepted ({Request.Length} bytes)", StringComparison.Ordinal));
        Assert.Contains(output.Lines, l => l.StartsWith("#3 New", StringComparison.Ordinal) && l.Contains("early data rejected (SessionNotResumed)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FastSessionConnect_EarlyData_IsAcceptedBy_OpenSslServer()
    {
        int port = TestPki.FreePort();
        // stdbuf: s_server's stdout is a pipe here, block-buffered; its early-data report must arrive while it runs.
        ToolProcess server = ToolProcess.Start("stdbuf", "-o0", "openssl", "s_server", "-accept", $"127.0.0.1:{port}", "-cert", _pki.CertificateFile, "-key", _pki.KeyFile,
            "-tls1_3", "-early_data");
        _processes.Add(server); // stdin stays open: s_server keeps serving
        await server.WaitForOutputAsync(o => o.Contains("ACCEPT", StringComparison.Ordinal), Timeout, "ACCEPT from s_server");
        string data = _pki.PathOf("early-connect.txt");
        await File.WriteAllTextAsync(data, Request);

        var output = new CapturingWriter();
        var error = new CapturingWriter();
        int code = await FastSessionTool.RunAsync(new[] { "connect", $"127.0.0.1:{port}", "--servername", "localhost", "--cafile", _pki.CertificateFile,
            "--reconnect", "1", "--early-data", data, "--json" }, output, error, _timeout.Token).WaitAsync(Timeout);
        Assert.True(code == 0, $"exit {code}: {error.Text}\n{output.Text}");
        JsonElement[] connections = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).Where(l => l.TryGetProperty("connection", out _)).ToArray();
        Assert.Equal("not_sent", connections[0].GetProperty("early_data").GetString()); // no ticket yet: sent after the handshake
        Assert.Equal("NoSession", connections[0].GetProperty("early_data_reason").GetString());
        Assert.True(connections[1].GetProperty("reused").GetBoolean());
        Assert.Equal("accepted", connections[1].GetProperty("early_data").GetString());
        await server.WaitForOutputAsync(o => o.Contains("Early data received:", StringComparison.Ordinal) &&
            o[o.IndexOf("Early data received:", StringComparison.Ordinal)..].Contains("GET /zero-rtt", StringComparison.Ordinal), Timeout, "s_server's early data report");
    }

    [Theory]
    [InlineData("connect", "127.0.0.1:9", "--early-data", "/nonexistent/early.txt")]
    [InlineData("connect", "127.0.0.1:9", "--tls", "1.2", "--early-data", "/dev/null")]
    [InlineData("serve", "--accept", "127.0.0.1:0", "--early-data", "--tls", "1.2")]
    [InlineData("serve", "--accept", "127.0.0.1:0", "--early-data-replay", "redis://127.0.0.1:9/x")]
    [InlineData("serve", "--accept", "127.0.0.1:0", "--early-data", "--max-early-data", "0")]
    public async Task BadEarlyDataArguments_AreUsageErrors_OneLine(params string[] args)
    {
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        int code = await FastSessionTool.RunAsync(args, output, error, _timeout.Token).WaitAsync(Timeout);
        Assert.True(code == 2, $"exit {code}: {error.Text}{output.Text}");
        Assert.Single(error.Text.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", error.Text, StringComparison.Ordinal);
    }

    /// <summary>One s_client connection to the echo server: the early data (if any) or a line, its echo, then close.</summary>
    private async Task<string> OpenSslClientAsync(int port, params string[] extra)
    {
        var arguments = new List<string> { "s_client", "-connect", $"127.0.0.1:{port}", "-tls1_3", "-servername", "localhost" };
        arguments.AddRange(extra);
        using ToolProcess client = ToolProcess.Start("openssl", arguments.ToArray());
        bool early = extra.Contains("-early_data");
        if (!early)
        {
            await client.WriteAsync(Request);
        }
        // s_client does not resend rejected early data: then there is no echo to wait for.
        await client.WaitForOutputAsync(o => early && o.Contains("Early data was rejected", StringComparison.Ordinal) ||
            o.Contains("GET /zero-rtt", StringComparison.Ordinal) && (o.Contains("New, ", StringComparison.Ordinal) || o.Contains("Reused, ", StringComparison.Ordinal))
            && (!early || o.Contains("Early data was accepted", StringComparison.Ordinal)), Timeout, "the echo from fastsession serve");
        client.CloseInput();
        await client.WaitForExitAsync(Timeout);
        return client.Output;
    }
}
