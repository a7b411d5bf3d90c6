using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using Xunit;

namespace FastSession.Tests.Security;

/// <summary>
/// Issue #11 "done when": <c>fastsession connect</c> against <c>openssl s_server</c> verifies by default. A self-signed
/// server fails (exit 1, the reason in one line), passes with <c>--cafile</c>, fails with a wrong <c>--servername</c>,
/// passes with <c>--insecure</c>; a server whose CA is in the default trust passes with no option at all. The real system
/// store is never touched: OpenSSL's default verify paths are overridden for one child process by the
/// <c>SSL_CERT_FILE</c> / <c>SSL_CERT_DIR</c> environment variables, pointing at a directory this test creates.
/// </summary>
public sealed class ConnectVerificationCliTests : LiveObjectTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TestPki _pki = new();
    private readonly List<ToolProcess> _processes = new();

    public override void Dispose()
    {
        foreach (ToolProcess process in _processes)
        {
            process.Dispose();
        }
        _pki.Dispose();
        base.Dispose();
    }

    [Theory]
    [InlineData("1.2")]
    [InlineData("1.3")]
    public async Task Connect_ToASelfSignedOpenSslServer_FailsByDefault_PassesWithCaFile_FailsWithAWrongName_PassesInsecure(string version)
    {
        int port = await StartOpenSslServerAsync(_pki.CertificateFile, _pki.KeyFile, version);
        string target = $"127.0.0.1:{port}";

        (int code, string output, string error) = await RunCliAsync("connect", target, "--tls", version, "--servername", "localhost");
        Assert.Equal(1, code);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("fastsession: TLS failure: ", line, StringComparison.Ordinal);
        Assert.Contains("untrusted root: self-signed certificate", line, StringComparison.Ordinal);

        (code, output, error) = await RunCliAsync("connect", target, "--tls", version, "--servername", "localhost", "--cafile", _pki.CertificateFile);
        Assert.True(code == 0, error);
        Assert.StartsWith("#0 New, TLSv" + version, output, StringComparison.Ordinal);

        (code, _, error) = await RunCliAsync("connect", target, "--tls", version, "--servername", "wrong.example", "--cafile", _pki.CertificateFile);
        Assert.Equal(1, code);
        line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("name mismatch: expected 'wrong.example', the certificate is for DNS:localhost", line, StringComparison.Ordinal);

        // The IP address the tool connects to is checked too when no --servername is given: this certificate has none.
        (code, _, error) = await RunCliAsync("connect", target, "--tls", version, "--cafile", _pki.CertificateFile);
        Assert.Equal(1, code);
        Assert.Contains("expected '127.0.0.1'", error, StringComparison.Ordinal);

        (code, output, error) = await RunCliAsync("connect", target, "--tls", version, "--insecure");
        Assert.True(code == 0, error);
        Assert.StartsWith("#0 New, TLSv" + version, output, StringComparison.Ordinal);

        await AssertUsageAsync("connect", target, "--insecure", "--cafile", _pki.CertificateFile);
        await AssertUsageAsync("connect", target, "--cafile", _pki.PathOf("missing.pem"));
        await AssertUsageAsync("connect", target, "--capath", _pki.PathOf("missing-dir"));
        await AssertUsageAsync("connect", target, "--cert", _pki.CertificateFile);
    }

    [Fact]
    public async Task Connect_TrustsACaInTheDefaultTrustStore_WithNoOptionAtAll()
    {
        string leafCert = Write("leaf.pem", SecurityPki.Localhost.CertificatePem);
        string leafKey = Write("leaf.key", SecurityPki.Localhost.KeyPem);
        int port = await StartOpenSslServerAsync(leafCert, leafKey, "1.3");
        string target = $"localhost:{port}";

        // A "system store" of our own: a CA file, and a hashed directory (openssl rehash) holding the same CA.
        string storeDir = _pki.PathOf("store");
        Directory.CreateDirectory(storeDir);
        string caFile = Write("store/ca.pem", SecurityPki.Ca.CertificatePem);
        string hashedDir = _pki.PathOf("hashed");
        Directory.CreateDirectory(hashedDir);
        Write("hashed/ca.pem", SecurityPki.Ca.CertificatePem);
        (int rehash, string rehashOutput) = await ToolProcess.RunAsync(Timeout, null, "openssl", "rehash", hashedDir);
        Assert.True(rehash == 0, rehashOutput);
        string emptyDir = _pki.PathOf("empty");
        Directory.CreateDirectory(emptyDir);

        // SSL_CERT_FILE alone.
        (int code, string output) = await RunChildAsync(new() { ["SSL_CERT_FILE"] = caFile, ["SSL_CERT_DIR"] = emptyDir }, "connect", target);
        Assert.True(code == 0, output);
        Assert.Contains("#0 New, TLSv1.3", output, StringComparison.Ordinal);

        // SSL_CERT_DIR alone (looked up by subject hash during verification).
        (code, output) = await RunChildAsync(new() { ["SSL_CERT_FILE"] = _pki.PathOf("none.pem"), ["SSL_CERT_DIR"] = hashedDir }, "connect", target);
        Assert.True(code == 0, output);

        // Pointing the defaults at an empty store: the same server is untrusted (so the CA above made the difference).
        (code, output) = await RunChildAsync(new() { ["SSL_CERT_FILE"] = _pki.PathOf("none.pem"), ["SSL_CERT_DIR"] = emptyDir }, "connect", target);
        Assert.Equal(1, code);
        Assert.Contains("untrusted root", output, StringComparison.Ordinal);

        // --capath gives the same directory explicitly.
        (code, _, string error) = await RunCliAsync("connect", target, "--capath", hashedDir);
        Assert.True(code == 0, error);
    }

    [Fact]
    public async Task Serve_WithCaFileAndVerify_RequiresAClientCertificate()
    {
        string caFile = Write("ca.pem", SecurityPki.Ca.CertificatePem);
        string leafCert = Write("leaf.pem", SecurityPki.Localhost.CertificatePem);
        string leafKey = Write("leaf.key", SecurityPki.Localhost.KeyPem);
        string clientCert = Write("client.pem", SecurityPki.Client.CertificatePem);
        string clientKey = Write("client.key", SecurityPki.Client.KeyPem);

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var serveOutput = new CapturingWriter();
        var serveError = new CapturingWriter();
        Task<int> serve = FastSessionTool.RunAsync(
            new[] { "serve", "--accept", "127.0.0.1:0", "--tls", "1.2", "--count", "2", "--cert", leafCert, "--key", leafKey, "--cafile", caFile, "--verify" },
            serveOutput, serveError, cancel.Token);
        try
        {
            string listening = await serveOutput.WaitForLineAsync(l => l.StartsWith("listening on ", StringComparison.Ordinal), Timeout, serve);
            string endpoint = listening["listening on ".Length..].Split(' ')[0];

            (int code, _, string error) = await RunCliAsync("connect", endpoint, "--cafile", caFile, "--servername", "localhost", "--cert", clientCert, "--key", clientKey);
            Assert.True(code == 0, error);

            (code, _, error) = await RunCliAsync("connect", endpoint, "--cafile", caFile, "--servername", "localhost");
            Assert.Equal(1, code);
            Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));

            Assert.Equal(0, await serve.WaitAsync(Timeout));
        }
        finally
        {
            cancel.Cancel();
        }
        await AssertUsageAsync("serve", "--verify", "--accept", "127.0.0.1:0");
        await AssertUsageAsync("serve", "--cafile", caFile, "--accept", "127.0.0.1:0");
    }

    private string Write(string name, string text)
    {
        string path = _pki.PathOf(name);
        File.WriteAllText(path, text);
        return path;
    }

    private async Task<int> StartOpenSslServerAsync(string cert, string key, string version)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = TestPki.FreePort();
            ToolProcess server = ToolProcess.Start("openssl", "s_server", "-accept", $"127.0.0.1:{port}",
                "-cert", cert, "-key", key, version == "1.2" ? "-tls1_2" : "-tls1_3", "-www");
            _processes.Add(server);
            try
            {
                await server.WaitForOutputAsync(o => o.Contains("ACCEPT", StringComparison.Ordinal), Timeout, "ACCEPT from s_server");
                return port;
            }
            catch (TimeoutException) when (attempt < 2 && server.HasExited)
            {
            }
        }
    }

    private static async Task<(int Code, string Output, string Error)> RunCliAsync(params string[] args)
    {
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int code = await FastSessionTool.RunAsync(args, output, error, cancel.Token);
        return (code, output.Text, error.Text);
    }

    private static async Task AssertUsageAsync(params string[] args)
    {
        (int code, _, string error) = await RunCliAsync(args);
        Assert.True(code == 2, $"exit {code}: {error}");
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => !l.StartsWith("Run 'fastsession --help'", StringComparison.Ordinal));
    }

    /// <summary>The tool as a child process (its own environment, so its own OpenSSL default verify paths).</summary>
    private static Task<(int ExitCode, string Output)> RunChildAsync(Dictionary<string, string> environment, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "FastSession.Cli.dll");
        var arguments = new List<string> { dll };
        arguments.AddRange(args);
        return RunWithEnvironmentAsync(environment, "dotnet", arguments.ToArray());
    }

    private static async Task<(int ExitCode, string Output)> RunWithEnvironmentAsync(Dictionary<string, string> environment, string fileName, string[] arguments)
    {
        using ToolProcess tool = ToolProcess.Start(environment, fileName, arguments);
        tool.CloseInput();
        int code = await tool.WaitForExitAsync(Timeout);
        return (code, tool.Output);
    }
}
