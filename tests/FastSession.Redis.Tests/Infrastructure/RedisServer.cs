using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using FastSession.Tests.Interop;

namespace FastSession.Redis.Tests.Infrastructure;

/// <summary>
/// A real redis-server on a free loopback port, without persistence (<c>--save "" --appendonly no</c>), stopped (killed)
/// on dispose; <see cref="StopAsync"/> / <see cref="StartAsync"/> stop and restart it on the same port (empty) for the
/// failure tests. A missing redis-server FAILS the test with the install command: never a silent skip.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private ToolProcess? _process;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    public string Location(string prefix) => $"redis://127.0.0.1:{Port}/{prefix}";

    public static async Task<RedisServer> StartNewAsync()
    {
        var server = new RedisServer(FreePort());
        await server.StartAsync();
        return server;
    }

    public static string FindExecutable()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException(
            "redis-server is not installed: the fleet tests need a real Redis (apt-get install -y redis-server; .ci/run installs it).");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            return;
        }
        _process?.Dispose();
        _process = ToolProcess.Start(FindExecutable(), "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning");
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (watch.Elapsed < StartTimeout && !_process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException($"redis-server did not start on port {Port}: {e.Message}. Output:\n{_process.Output}");
            }
        }
    }

    public Task StopAsync()
    {
        _process?.Dispose(); // kills it: Redis "down" for the clients
        _process = null;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _process?.Dispose();
        _process = null;
        return ValueTask.CompletedTask;
    }
}
