using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using FastSession.Tests.Interop;

namespace FastSession.Redis.Tests.Infrastructure;

/// <summary>
/// N <c>fastsession serve</c> processes on N loopback ports with one certificate (as a fleet behind a load balancer),
/// each started with the same extra arguments (e.g. <c>--ticket-keys redis://…</c>); killed on dispose.
/// </summary>
public sealed class Fleet : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly TestPki _pki;
    private readonly string[] _extra;
    private readonly ToolProcess?[] _servers;

    private Fleet(TestPki pki, int count, string[] extra)
    {
        _pki = pki;
        _extra = extra;
        _servers = new ToolProcess?[count];
        Ports = new int[count];
    }

    public int[] Ports { get; }

    public TestPki Pki => _pki;

    public static string Cli => Path.Combine(AppContext.BaseDirectory, "FastSession.Cli.dll");

    public static async Task<Fleet> StartAsync(TestPki pki, int count, params string[] extra)
    {
        var fleet = new Fleet(pki, count, extra);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(i => fleet.StartOneAsync(i, 0)));
            return fleet;
        }
        catch
        {
            fleet.Dispose();
            throw;
        }
    }

    /// <summary>Process id of server <paramref name="index"/>.</summary>
    public int ProcessId(int index) => _servers[index]?.ProcessId ?? throw new InvalidOperationException($"server {index} is not running");

    /// <summary>Output of server <paramref name="index"/> so far.</summary>
    public string Output(int index) => _servers[index]?.Output ?? "";

    /// <summary>Kills server <paramref name="index"/> and starts it again on the same port with the same arguments.</summary>
    public async Task RestartAsync(int index)
    {
        _servers[index]?.Dispose();
        _servers[index] = null;
        await StartOneAsync(index, Ports[index]);
    }

    public void Dispose()
    {
        foreach (ToolProcess? server in _servers)
        {
            server?.Dispose();
        }
    }

    private async Task StartOneAsync(int index, int port)
    {
        for (int attempt = 0; ; attempt++)
        {
            int p = port != 0 ? port : TestPki.FreePort();
            var args = new List<string> { Cli, "serve", "--accept", $"127.0.0.1:{p}", "--cert", _pki.CertificateFile, "--key", _pki.KeyFile };
            args.AddRange(_extra);
            ToolProcess server = ToolProcess.Start("dotnet", args.ToArray());
            try
            {
                await server.WaitForOutputAsync(o => o.Contains("listening on", StringComparison.Ordinal), Timeout, "'listening on' from fastsession serve");
                _servers[index] = server;
                Ports[index] = p;
                return;
            }
            catch (TimeoutException) when (attempt < 3 && server.HasExited)
            {
                server.Dispose();
                await Task.Delay(200); // port taken (or, on restart, not yet released): try again
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }
}

/// <summary><c>openssl s_client</c> against the echo server: one line echoed, then close; reports whether the session was reused.</summary>
public static class OpenSslClient
{
    public static async Task<bool> ConnectAsync(int port, TlsVersion version, params string[] extra)
    {
        var arguments = new List<string> { "s_client", "-connect", $"127.0.0.1:{port}", version == TlsVersion.Tls12 ? "-tls1_2" : "-tls1_3", "-servername", "localhost" };
        arguments.AddRange(extra);
        using ToolProcess client = ToolProcess.Start("openssl", arguments.ToArray());
        await client.WriteAsync("ping-fleet\n");
        // The echo comes after the handshake and (TLS 1.3) after the server's tickets, so -sess_out is written by now.
        await client.WaitForOutputAsync(
            o => o.Split('\n').Any(l => l.Trim() == "ping-fleet") && (o.Contains("New, ", StringComparison.Ordinal) || o.Contains("Reused, ", StringComparison.Ordinal)),
            Fleet.Timeout, "the echo from fastsession serve");
        client.CloseInput();
        await client.WaitForExitAsync(Fleet.Timeout);
        return client.Output.Contains("Reused, ", StringComparison.Ordinal);
    }
}
