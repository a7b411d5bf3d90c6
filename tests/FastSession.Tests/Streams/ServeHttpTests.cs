using System;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli;
using FastSession.Tests.Interop;
using Xunit;

namespace FastSession.Tests.Streams;

/// <summary>
/// <c>fastsession serve --http</c> driven by real clients: curl (verifying the test certificate) and <c>openssl s_time -www /</c>
/// in <c>-new</c> and <c>-reuse</c> modes, whose hang-ups the server counts without a line on stderr. Every wait is bounded.
/// </summary>
public sealed class ServeHttpTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TestPki _pki = new();
    private readonly CancellationTokenSource _cancel = new(TimeSpan.FromSeconds(90));

    public void Dispose()
    {
        _cancel.Cancel(); // a failed test must not leave the server listening
        _cancel.Dispose();
        _pki.Dispose();
    }

    [Theory]
    [InlineData("1.2")]
    [InlineData("1.3")]
    public async Task Http_AnswersCurl_AndOpenSslSTime_QuietlyAboutHangUps(string version)
    {
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        Task<int> serve = FastSessionTool.RunAsync(
            new[] { "serve", "--accept", "127.0.0.1:0", "--http", "--quiet", "--tls", version, "--cert", _pki.CertificateFile, "--key", _pki.KeyFile },
            output, error, _cancel.Token);
        string listening = await output.WaitForLineAsync(l => l.StartsWith("listening on ", StringComparison.Ordinal), Timeout, serve);
        int port = int.Parse(listening["listening on 127.0.0.1:".Length..].Split(' ')[0]);

        (int curlExit, string page) = await ToolProcess.RunAsync(Timeout, null, "curl", "-sS", "--cacert", _pki.CertificateFile,
            "--resolve", $"localhost:{port}:127.0.0.1", $"https://localhost:{port}/");
        Assert.True(curlExit == 0, page);
        Assert.Contains($"fastsession serve: New, TLSv{version}", page, StringComparison.Ordinal);

        foreach (string mode in new[] { "-new", "-reuse" })
        {
            (int code, string report) = await ToolProcess.RunAsync(Timeout, null, "openssl", "s_time", "-connect", $"127.0.0.1:{port}", "-www", "/",
                mode, version == "1.2" ? "-tls1_2" : "-tls1_3", "-time", "1");
            Assert.True(code == 0, report);
            Match timed = Regex.Matches(report, @"(\d+) connections in \d+ real seconds").Last();
            // Correctness, not throughput: every timed connection completed its request. A count floor failed in CI under the
            // ASan+UBSan shim (the test host runs with libasan preloaded: 4 connections in 2 s there, over 1,000 in a normal
            // build); the rate itself is measured by bench/, never here.
            Assert.True(int.Parse(timed.Groups[1].Value) >= 1, report);
            Assert.DoesNotContain("error", report, StringComparison.OrdinalIgnoreCase);
        }

        _cancel.Cancel();
        Assert.Equal(0, await serve.WaitAsync(Timeout));
        Assert.Equal("", error.Text);
        Assert.Contains(output.Lines, l => l.StartsWith("served ", StringComparison.Ordinal));
    }
}
