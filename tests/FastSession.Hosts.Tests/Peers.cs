using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Threading.Tasks;
using FastSession.Tests.Interop;
using Xunit;

namespace FastSession.Hosts.Tests;

/// <summary>Real peers for the host tests: openssl s_server -www children (killed on Dispose), curl and s_client runs, bounded.</summary>
public sealed class Peers : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly List<ToolProcess> _processes = new();

    public TestPki Pki { get; } = new();

    /// <summary>Starts <c>openssl s_server -www</c> for one TLS version; returns its port once it accepts.</summary>
    public async Task<int> StartOpenSslServerAsync(string version, params string[] extra)
    {
        int port = TestPki.FreePort();
        ToolProcess server = ToolProcess.Start("openssl", [ "s_server", "-www", "-accept", "127.0.0.1:" + port,
            "-cert", Pki.CertificateFile, "-key", Pki.KeyFile, version == "1.2" ? "-tls1_2" : "-tls1_3", .. extra ]);
        _processes.Add(server);
        await server.WaitForOutputAsync(o => o.Contains("ACCEPT", StringComparison.Ordinal), Timeout, "s_server ACCEPT");
        await WaitForPortAsync(port);
        return port;
    }

    /// <summary>A self-signed client certificate (CN=<paramref name="name"/>, clientAuth) and its key, as PEM files in the PKI directory.</summary>
    public async Task<(string Certificate, string Key)> CreateClientCertificateAsync(string name)
    {
        string certificate = Pki.PathOf(name + ".crt.pem"), key = Pki.PathOf(name + ".key.pem");
        (int code, string output) = await ToolProcess.RunAsync(Timeout, "", "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=" + name,
            "-addext", "extendedKeyUsage=clientAuth");
        Assert.True(code == 0, output);
        return (certificate, key);
    }

    public static async Task WaitForPortAsync(int port)
    {
        DateTime deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    public static async Task<string> RunAsync(string input, string fileName, params string[] arguments)
    {
        (int code, string output) = await ToolProcess.RunAsync(Timeout, input, fileName, arguments);
        Assert.True(code == 0 || fileName == "openssl", $"{fileName} exited {code}:\n{output}");
        return output;
    }

    public void Dispose()
    {
        foreach (ToolProcess process in _processes)
        {
            process.Dispose();
        }
        Pki.Dispose();
    }
}
