using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Interop;

/// <summary>
/// The <c>fastsession</c> tool as a user starts it (a child process, <c>dotnet FastSession.Cli.dll</c>), with stdout and
/// stderr apart: what a serve that never listened prints, which option a bad file is blamed on, options that only make
/// sense together, a session store that is down, and what serve prints when it is stopped by SIGTERM.
/// </summary>
public sealed class CliProcessExitTests : LiveObjectTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TestPki _pki = new();

    public override void Dispose()
    {
        _pki.Dispose();
        base.Dispose();
    }

    [Fact]
    public async Task Serve_OnAPortInUse_ExitsOne_WithOneLine_AndNoSummary()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;
        (int code, string output, string error) = await RunAsync("serve", "--accept", $"127.0.0.1:{port}", "--count", "1");
        Assert.True(code == 1, $"exit {code}; stdout: {output}; stderr: {error}");
        AssertOneLine(error, "Address already in use");
        // A server that never listened served nothing: no "resumption: 0 handshakes" line.
        Assert.Equal("", output);
    }

    [Fact]
    public async Task Serve_BadTicketKeyFile_PrintsNoSummary()
    {
        (int code, string output, string error) = await RunAsync("serve", "--accept", "127.0.0.1:0", "--count", "1",
            "--ticket-keys", _pki.PathOf("missing.key"));
        Assert.True(code == 2, $"exit {code}; stderr: {error}");
        AssertOneLine(error, "--ticket-keys");
        Assert.Equal("", output);
    }

    [Fact]
    public async Task Serve_GarbageCaFile_BlamesCaFile_NotTheCertificate()
    {
        string garbage = _pki.PathOf("garbage.pem");
        File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        (int code, _, string error) = await RunAsync("serve", "--accept", "127.0.0.1:0", "--count", "1", "--cafile", garbage, "--verify");
        Assert.True(code == 2, $"exit {code}; stderr: {error}");
        AssertOneLine(error, $"--cafile '{garbage}'");
        Assert.DoesNotContain("--cert", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_SessionKeyWithoutSessionStore_IsAUsageError()
    {
        (int code, _, string error) = await RunAsync("connect", $"127.0.0.1:{TestPki.FreePort()}", "--session-key", "fleet:443");
        Assert.True(code == 2, $"exit {code}; stderr: {error}");
        AssertOneLine(error, "--session-store");
    }

    [Theory]
    [InlineData("--max-early-data", "100")]
    [InlineData("--early-data-replay", "redis://127.0.0.1:6379/x")]
    public async Task Serve_EarlyDataOptionsWithoutEarlyData_AreUsageErrors(string option, string value)
    {
        (int code, string output, string error) = await RunAsync("serve", "--accept", "127.0.0.1:0", "--count", "1", option, value);
        Assert.True(code == 2, $"exit {code}; stdout: {output}; stderr: {error}");
        AssertOneLine(error, $"{option} needs --early-data");
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData("--ticket-key-rotation", "60", "--ticket-keys redis://")]
    [InlineData("--session-store-timeout", "50", "--session-store")]
    public async Task Serve_FleetOptionsWithoutTheirStore_AreUsageErrors(string option, string value, string expected)
    {
        (int code, string output, string error) = await RunAsync("serve", "--accept", "127.0.0.1:0", "--count", "1", option, value);
        Assert.True(code == 2, $"exit {code}; stdout: {output}; stderr: {error}");
        AssertOneLine(error, $"{option} needs {expected}");
        Assert.Equal("", output);
    }

    [Fact]
    public async Task Connect_WithTheSessionStoreDown_Warns_AndStillConnects()
    {
        using ChildProcess serve = ChildProcess.StartTool("serve", "--accept", "127.0.0.1:0", "--count", "2");
        int port = await serve.WaitForListeningPortAsync(Timeout);
        int nothing = TestPki.FreePort(); // no Redis there
        (int code, string output, string error) = await RunAsync("connect", $"127.0.0.1:{port}", "--insecure", "--reconnect", "1",
            "--session-store", $"redis://127.0.0.1:{nothing}/fleet");
        Assert.True(code == 0, $"exit {code}; stderr: {error}");
        AssertOneLine(error, "is not reachable");
        Assert.Contains("2 connections to", output, StringComparison.Ordinal);
        Assert.Equal(0, await serve.WaitForExitAsync(Timeout));
    }

    [Fact]
    public async Task Serve_StoppedBySigterm_PrintsTheResumptionSummary_AndTheStoreCounters()
    {
        int nothing = TestPki.FreePort(); // the store is down: counters still exist and must be printed
        using ChildProcess serve = ChildProcess.StartTool("serve", "--accept", "127.0.0.1:0", "--no-tickets",
            "--session-store", $"redis://127.0.0.1:{nothing}/cache", "--session-store-timeout", "50");
        await serve.WaitForListeningPortAsync(Timeout);
        using (Process kill = Process.Start("kill", ["-TERM", serve.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync().WaitAsync(Timeout);
            Assert.Equal(0, kill.ExitCode);
        }
        await serve.WaitForExitAsync(Timeout);
        string output = serve.Output;
        Assert.Contains("resumption: 0 handshakes, 0 resumed", output, StringComparison.Ordinal);
        Assert.Contains("session store: lookups 0, hits 0, misses 0", output, StringComparison.Ordinal);
    }

    private static void AssertOneLine(string error, string expected)
    {
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one stderr line, got: {error}");
        Assert.StartsWith("fastsession: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using ChildProcess tool = ChildProcess.StartTool(args);
        int code = await tool.WaitForExitAsync(Timeout);
        return (code, tool.Output, tool.Error);
    }

    /// <summary>The tool as a child process with stdout and stderr captured apart; Dispose kills it if still running.</summary>
    private sealed class ChildProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly StringBuilder _error = new();

        private ChildProcess(Process process) => _process = process;

        public static ChildProcess StartTool(params string[] args)
        {
            var info = new ProcessStartInfo("dotnet")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "FastSession.Cli.dll"));
            foreach (string arg in args)
            {
                info.ArgumentList.Add(arg);
            }
            var process = new Process { StartInfo = info };
            var child = new ChildProcess(process);
            process.OutputDataReceived += (_, e) => Append(child._output, e.Data);
            process.ErrorDataReceived += (_, e) => Append(child._error, e.Data);
            Assert.True(process.Start(), "could not start dotnet FastSession.Cli.dll");
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            process.StandardInput.Close();
            return child;
        }

        public int ProcessId => _process.Id;

        public string Output => Read(_output);

        public string Error => Read(_error);

        /// <summary>Waits for serve's "listening on 127.0.0.1:PORT" line and returns the port.</summary>
        public async Task<int> WaitForListeningPortAsync(TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < timeout)
            {
                System.Text.RegularExpressions.Match match = System.Text.RegularExpressions.Regex.Match(Output, @"listening on 127\.0\.0\.1:(\d+)");
                if (match.Success)
                {
                    return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                }
                Assert.False(_process.HasExited, $"serve exited ({(_process.HasExited ? _process.ExitCode : 0)}): {Output} {Error}");
                await Task.Delay(50);
            }
            throw new TimeoutException($"serve did not listen within {timeout.TotalSeconds:0} s: {Output} {Error}");
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the tool did not exit within {timeout.TotalSeconds:0} s: {Output} {Error}");
            }
            _process.WaitForExit(); // drains the redirected streams
            return _process.ExitCode;
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
            _process.Dispose();
        }

        private static void Append(StringBuilder buffer, string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (buffer)
            {
                buffer.Append(line).Append('\n');
            }
        }

        private static string Read(StringBuilder buffer)
        {
            lock (buffer)
            {
                return buffer.ToString();
            }
        }
    }
}
