using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli;
using Xunit;

namespace FastSession.Tests.Interop;

/// <summary>
/// FastSession against the real <c>openssl</c> binary, both protocols: <c>s_server</c> and <c>s_client</c> as child
/// processes (killed on Dispose, every wait bounded), the <c>fastsession</c> tool run in-process through
/// <see cref="FastSessionTool.RunAsync"/>. Session files go both ways: <c>s_client -sess_out</c> → <see cref="SslSession.FromPem"/>,
/// FastSession's PEM → <c>s_client -sess_in</c> and <c>openssl sess_id</c>.
/// </summary>
public sealed class OpenSslInteropTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TestPki _pki = new();
    private readonly List<ToolProcess> _processes = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(90));

    public void Dispose()
    {
        foreach (ToolProcess process in _processes)
        {
            process.Dispose();
        }
        // Stops an in-process `serve` a failed test left running.
        _timeout.Cancel();
        _timeout.Dispose();
        _pki.Dispose();
    }

    public static TheoryData<string> Versions => new() { "1.2", "1.3" };

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Connect_ResumesEveryReconnect_AgainstOpenSslServer(string version)
    {
        int port = await StartOpenSslServerAsync(version);
        string sessOut = _pki.PathOf("fastsession-connect.pem");
        (int code, string output, string error) = await RunCliAsync(
            "connect", $"127.0.0.1:{port}", "--tls", version, "--reconnect", "5", "--json", "--sess-out", sessOut,
            "--cafile", _pki.CertificateFile, "--servername", "localhost");
        Assert.True(code == 0, $"exit {code}: {error}\n{output}");

        JsonElement[] lines = ParseJsonLines(output);
        JsonElement[] connections = lines.Where(l => l.TryGetProperty("connection", out _)).ToArray();
        Assert.Equal(6, connections.Length);
        for (int i = 0; i < connections.Length; i++)
        {
            JsonElement c = connections[i];
            Assert.Equal("TLSv" + version, c.GetProperty("protocol").GetString());
            Assert.False(string.IsNullOrEmpty(c.GetProperty("cipher").GetString()));
            Assert.Equal(i > 0, c.GetProperty("reused").GetBoolean());
            Assert.True(c.GetProperty("resumable").GetBoolean());
            string id = c.GetProperty("session_id").GetString()!;
            Assert.Matches("^[0-9A-F]{2,64}$", id);
        }
        JsonElement summary = lines.Single(l => l.TryGetProperty("summary", out _));
        Assert.Equal(5, summary.GetProperty("reconnects").GetInt32());
        Assert.Equal(5, summary.GetProperty("reconnects_reused").GetInt32());
        Assert.Equal(5, summary.GetProperty("reused").GetInt32());

        // The file FastSession wrote resumes openssl s_client, and s_server confirms it.
        string page = await OpenSslClientAsync(port, version, "-sess_in", sessOut);
        Assert.Contains("Reused, TLSv" + version, page, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task FastSslStream_ResumesAgainstOpenSslServer_WithTheSessionFileOfOpenSslClient(string version)
    {
        int port = await StartOpenSslServerAsync(version);
        string sessOut = _pki.PathOf("s_client.pem");
        string first = await OpenSslClientAsync(port, version, "-sess_out", sessOut);
        Assert.Contains("New, TLSv" + version, first, StringComparison.Ordinal);

        TlsVersion tls = Parse(version);
        using SslContext context = SslContext.CreateClient(new SslClientOptions { MinVersion = tls, MaxVersion = tls, TrustedCertificatesPem = _pki.CertificatePem });
        using SslSession session = SslSession.FromPem(File.ReadAllText(sessOut), context);
        Assert.True(session.IsResumable);
        Assert.Equal(tls, session.Protocol);
        Assert.Equal(context.Id, session.ContextId);

        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port, _timeout.Token);
        await using var stream = new FastSslStream(tcp.GetStream());
        await stream.AuthenticateAsClientAsync(context, "localhost", session, _timeout.Token);
        Assert.True(stream.SessionReused);

        // s_server -www answers with a page that says how it saw the connection.
        await stream.WriteAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray(), _timeout.Token);
        string response = await ReadToEndAsync(stream);
        Assert.Contains("Reused, TLSv" + version, response, StringComparison.Ordinal);
    }

    // Issue 14, "server declined a client offer it could have decrypted": a TLS 1.3 ticket is bound to its suite's hash, so
    // a client that offers a TLS_AES_256_GCM_SHA384 ticket while allowing only TLS_AES_128_GCM_SHA256 gets a full handshake
    // although the server decrypted its ticket (OpenSSL's tls_parse_ctos_psk); serve reports it as ticket_declined.
    [Fact]
    public async Task OpenSslClient_OfferingATicketOfAnotherSuiteHash_IsTicketDeclinedByTheServer()
    {
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        Task<int> serve = FastSessionTool.RunAsync(
            new[] { "serve", "--accept", "127.0.0.1:0", "--tls", "1.3", "--count", "2", "--cert", _pki.CertificateFile, "--key", _pki.KeyFile }, output, error, _timeout.Token);
        string listening = await output.WaitForLineAsync(l => l.StartsWith("listening on 127.0.0.1:", StringComparison.Ordinal), Timeout, serve);
        int port = int.Parse(listening["listening on 127.0.0.1:".Length..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

        string sessionFile = _pki.PathOf("sha384-ticket.pem");
        string first = await OpenSslClientEchoAsync(port, "1.3", "-sess_out", sessionFile, "-ciphersuites", "TLS_AES_256_GCM_SHA384");
        Assert.Contains("New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384", first, StringComparison.Ordinal);
        string second = await OpenSslClientEchoAsync(port, "1.3", "-sess_in", sessionFile, "-ciphersuites", "TLS_AES_128_GCM_SHA256");
        Assert.Contains("New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256", second, StringComparison.Ordinal);

        Assert.Equal(0, await serve.WaitAsync(Timeout));
        // The in-process serve's summary listens to the process-wide meter (other tests' handshakes count too); only
        // this test offers a ticket under another suite's hash.
        string summary = output.Lines.Single(l => l.StartsWith("resumption:", StringComparison.Ordinal));
        Assert.Matches("ticket_declined [1-9]", summary);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task OpenSslClient_ResumesAgainstFastSessionServer_WithSessIn(string version)
    {
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        Task<int> serve = FastSessionTool.RunAsync(
            new[] { "serve", "--accept", "127.0.0.1:0", "--tls", version, "--count", "3", "--cert", _pki.CertificateFile, "--key", _pki.KeyFile }, output, error, _timeout.Token);
        string listening = await output.WaitForLineAsync(l => l.StartsWith("listening on 127.0.0.1:", StringComparison.Ordinal), Timeout, serve);
        int port = int.Parse(listening["listening on 127.0.0.1:".Length..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

        string sessionFile = _pki.PathOf("s_client-vs-fastsession.pem");
        string first = await OpenSslClientEchoAsync(port, version, "-sess_out", sessionFile);
        Assert.Contains("New, TLSv" + version, first, StringComparison.Ordinal);
        string second = await OpenSslClientEchoAsync(port, version, "-sess_in", sessionFile);
        Assert.Contains("Reused, TLSv" + version, second, StringComparison.Ordinal);

        // The same s_client file also resumes FastSession's own client.
        (int code, string connectOutput, string connectError) = await RunCliAsync(
            "connect", $"127.0.0.1:{port}", "--tls", version, "--sess-in", sessionFile, "--json", "--cafile", _pki.CertificateFile, "--servername", "localhost");
        Assert.True(code == 0, connectError);
        Assert.True(ParseJsonLines(connectOutput).First().GetProperty("reused").GetBoolean());

        Assert.Equal(0, await serve.WaitAsync(Timeout));
        string[] log = output.Lines;
        Assert.StartsWith("#1 New, TLSv" + version, log.Single(l => l.StartsWith("#1 ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.StartsWith("#2 Reused, TLSv" + version, log.Single(l => l.StartsWith("#2 ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.StartsWith("#3 Reused, TLSv" + version, log.Single(l => l.StartsWith("#3 ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task SessionFileWrittenByFastSession_IsReadByOpenSslSessId_AndInspectAgrees(string version)
    {
        TlsVersion tls = Parse(version);
        using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = tls, MaxVersion = tls });
        using SslContext client = SslContext.CreateClient(new SslClientOptions { MinVersion = tls, MaxVersion = tls, UseSystemTrustStore = false, TrustedCertificatesPem = server.GetCertificatePem() });
        var pipe = new SslMemoryPipe();
        string file = _pki.PathOf("fastsession.pem");
        SslSessionInfo info;
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            pipe.Handshake(c, s);
            pipe.Shutdown(c, s);
            Assert.True(c.TryTakeNewSession(out SslSession session));
            using (session)
            {
                File.WriteAllText(file, session.ToPem());
                info = session.Info;
            }
            while (c.TryTakeNewSession(out SslSession more))
            {
                more.Dispose();
            }
        }

        (int code, string text) = await ToolProcess.RunAsync(Timeout, null, "openssl", "sess_id", "-in", file, "-text", "-noout");
        Assert.True(code == 0, text);
        Dictionary<string, string> openssl = ParseSessIdText(text);
        Assert.Equal("TLSv" + version, openssl["Protocol"]);
        Assert.Equal(info.CipherName, openssl["Cipher"]);
        Assert.Equal(Convert.ToHexString(info.Id), openssl["Session-ID"]);

        (int inspectCode, string json, string inspectError) = await RunCliAsync("inspect", file, "--json");
        Assert.True(inspectCode == 0, inspectError);
        JsonElement inspected = ParseJsonLines(json).Single();
        Assert.Equal(openssl["Protocol"], inspected.GetProperty("protocol").GetString());
        Assert.Equal(openssl["Cipher"], inspected.GetProperty("cipher").GetString());
        Assert.Equal(openssl["Session-ID"], inspected.GetProperty("session_id").GetString());
        Assert.True(inspected.GetProperty("resumable").GetBoolean());

        // The text form carries OpenSSL's own SSL_SESSION_print lines.
        (inspectCode, string inspectText, _) = await RunCliAsync("inspect", file);
        Assert.Equal(0, inspectCode);
        Dictionary<string, string> printed = ParseSessIdText(inspectText);
        Assert.Equal(openssl["Session-ID"], printed["Session-ID"]);
        Assert.Equal(openssl["Protocol"], printed["Protocol"]);
        Assert.Equal(openssl["Cipher"], printed["Cipher"]);

        // ...except the master secret, which only --show-secrets prints (sess_id -text always does).
        string secret = System.Text.RegularExpressions.Regex.Match(text, @"(?:Master-Key|Resumption PSK): *([0-9A-F]{32,})").Groups[1].Value;
        Assert.NotEqual("", secret);
        Assert.DoesNotContain(secret, inspectText, StringComparison.Ordinal);
        Assert.Contains("(hidden; --show-secrets prints it)", inspectText, StringComparison.Ordinal);
        (inspectCode, string shown, _) = await RunCliAsync("inspect", file, "--show-secrets");
        Assert.Equal(0, inspectCode);
        Assert.Contains(secret, shown, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Inspect_AgreesWithOpenSslSessId_OnAFileWrittenByOpenSslClient(string version)
    {
        int port = await StartOpenSslServerAsync(version);
        string file = _pki.PathOf("s_client-inspect.pem");
        await OpenSslClientAsync(port, version, "-sess_out", file);

        (int code, string text) = await ToolProcess.RunAsync(Timeout, null, "openssl", "sess_id", "-in", file, "-text", "-noout");
        Assert.True(code == 0, text);
        Dictionary<string, string> openssl = ParseSessIdText(text);

        (int inspectCode, string json, string error) = await RunCliAsync("inspect", file, "--json");
        Assert.True(inspectCode == 0, error);
        JsonElement inspected = ParseJsonLines(json).Single();
        Assert.Equal(openssl["Protocol"], inspected.GetProperty("protocol").GetString());
        Assert.Equal(openssl["Cipher"], inspected.GetProperty("cipher").GetString());
        Assert.Equal(openssl["Session-ID"], inspected.GetProperty("session_id").GetString());
    }

    // ---- Helpers ------------------------------------------------------------------------------

    private static TlsVersion Parse(string version) => version == "1.2" ? TlsVersion.Tls12 : TlsVersion.Tls13;

    /// <summary>Starts <c>openssl s_server -www</c> on a free port and waits until it accepts.</summary>
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

    /// <summary>One <c>s_client</c> connection to s_server -www: asks for the page (which reports New/Reused) and returns all output.</summary>
    private async Task<string> OpenSslClientAsync(int port, string version, params string[] extra)
    {
        var arguments = new List<string> { "s_client", "-connect", $"127.0.0.1:{port}", version == "1.2" ? "-tls1_2" : "-tls1_3", "-servername", "localhost" };
        arguments.AddRange(extra);
        using ToolProcess client = ToolProcess.Start("openssl", arguments.ToArray());
        await client.WriteAsync("GET / HTTP/1.0\r\n\r\n");
        // s_server -www answers and closes; s_client then exits on its own.
        await client.WaitForOutputAsync(o => o.Contains("</HTML>", StringComparison.OrdinalIgnoreCase) || o.Contains("</BODY>", StringComparison.OrdinalIgnoreCase), Timeout, "the s_server page");
        client.CloseInput();
        await client.WaitForExitAsync(Timeout);
        return client.Output;
    }

    /// <summary>One <c>s_client</c> connection to FastSession's echo server: sends a line, waits for its echo, closes.</summary>
    private async Task<string> OpenSslClientEchoAsync(int port, string version, params string[] extra)
    {
        var arguments = new List<string> { "s_client", "-connect", $"127.0.0.1:{port}", version == "1.2" ? "-tls1_2" : "-tls1_3", "-servername", "localhost" };
        arguments.AddRange(extra);
        using ToolProcess client = ToolProcess.Start("openssl", arguments.ToArray());
        await client.WriteAsync("ping-fastsession\n");
        // The echo comes after the handshake and (TLS 1.3) after the server's tickets, so -sess_out is written by now.
        await client.WaitForOutputAsync(
            o => o.Split('\n').Count(l => l.Trim() == "ping-fastsession") >= 1 && (o.Contains("New, ", StringComparison.Ordinal) || o.Contains("Reused, ", StringComparison.Ordinal)),
            Timeout, "the echo from fastsession serve");
        client.CloseInput();
        await client.WaitForExitAsync(Timeout);
        return client.Output;
    }

    private async Task<(int Code, string Output, string Error)> RunCliAsync(params string[] args)
    {
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        int code = await FastSessionTool.RunAsync(args, output, error, _timeout.Token).WaitAsync(Timeout);
        return (code, output.Text, error.Text);
    }

    private async Task<string> ReadToEndAsync(Stream stream)
    {
        var text = new StringBuilder();
        byte[] buffer = new byte[4096];
        int n;
        while ((n = await stream.ReadAsync(buffer, _timeout.Token).AsTask().WaitAsync(Timeout)) > 0)
        {
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        return text.ToString();
    }

    private static JsonElement[] ParseJsonLines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .ToArray();

    /// <summary>The "Name : value" lines of <c>SSL_SESSION_print</c> (openssl sess_id -text).</summary>
    internal static Dictionary<string, string> ParseSessIdText(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string raw in text.Split('\n'))
        {
            int colon = raw.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }
            string name = raw[..colon].Trim();
            if (name is "Protocol" or "Cipher" or "Session-ID" && !fields.ContainsKey(name))
            {
                fields[name] = raw[(colon + 1)..].Trim();
            }
        }
        return fields;
    }
}
