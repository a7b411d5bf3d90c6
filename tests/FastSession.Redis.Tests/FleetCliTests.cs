using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli;
using FastSession.Redis.Tests.Infrastructure;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using Xunit;

namespace FastSession.Redis.Tests;

/// <summary>The tool's fleet options: bad input is one line and exit 2; a Redis that is down is not an error.</summary>
public sealed class FleetCliTests : LiveObjectTest
{
    [Theory]
    [InlineData("serve", "--ticket-keys", "{dir}/short.key", "48 or 80 bytes")]
    [InlineData("serve", "--ticket-keys", "{dir}/missing.key", "missing.key")]
    [InlineData("serve", "--ticket-keys", "redis://:99999", "port")]
    [InlineData("connect", "--session-store", "http://example", "redis://")]
    public async Task BadFleetInput_IsOneLine_ExitCode2(string command, string option, string value, string expected)
    {
        using var pki = new TestPki();
        File.WriteAllBytes(pki.PathOf("short.key"), new byte[47]);
        string[] args = command == "serve"
            ? ["serve", "--accept", "127.0.0.1:0", "--count", "1", option, value.Replace("{dir}", pki.Directory)]
            : ["connect", "127.0.0.1:9", option, value];
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await FastSessionTool.RunAsync(args, stdout, stderr).WaitAsync(TimeSpan.FromSeconds(30));
        string error = stderr.ToString().Trim();
        Assert.Equal(2, code);
        Assert.Single(error.Split('\n'));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WithRedisKeysDown_StillServes_FullHandshakes()
    {
        int port = RedisServer.FreePort(); // nothing listens there
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int serverPort = RedisServer.FreePort();
        Task<int> serve = FastSessionTool.RunAsync(
            ["serve", "--accept", $"127.0.0.1:{serverPort}", "--count", "1", "--ticket-keys", $"redis://127.0.0.1:{port}/down"], stdout, stderr, stop.Token);
        while (!stdout.ToString().Contains("listening on", StringComparison.Ordinal))
        {
            Assert.False(serve.IsCompleted, stderr.ToString());
            await Task.Delay(50, stop.Token);
        }
        Assert.Contains("not reachable yet", stdout.ToString(), StringComparison.Ordinal);
        Assert.False(await OpenSslClient.ConnectAsync(serverPort, TlsVersion.Tls13));
        Assert.Equal(0, await serve.WaitAsync(stop.Token));
    }
}
