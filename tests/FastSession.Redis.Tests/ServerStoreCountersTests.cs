using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Redis.Tests.Infrastructure;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using Xunit;

namespace FastSession.Redis.Tests;

/// <summary>
/// The server store's instruments reach the real <c>dotnet-counters</c> watching a real <c>fastsession serve
/// --session-store redis://…</c> process, like the meter's other instruments: lookups, hits and stores from an
/// <c>openssl s_client</c> pair, a removal from an s_client killed mid-connection. A missing dotnet-counters fails the
/// test with the install command (./test.sh and .ci/run install it into artifacts/tools).
/// </summary>
public sealed class ServerStoreCountersTests : LiveObjectTest
{
    [Fact]
    public async Task DotnetCountersSeesTheServerStoreInstrumentsOfServe()
    {
        string counters = FindDotnetCounters();
        using var pki = new TestPki();
        await using RedisServer redis = await RedisServer.StartNewAsync();
        using Fleet fleet = await Fleet.StartAsync(pki, 1, "--no-tickets", "--session-store", redis.Location("dc"), "--session-store-timeout", "1000");
        int port = fleet.Ports[0];
        string first = pki.PathOf("first.pem");
        Assert.False(await OpenSslClient.ConnectAsync(port, TlsVersion.Tls12, "-sess_out", first)); // the instruments exist from here on
        string outputFile = Path.Combine(Path.GetTempPath(), $"fastsession-store-counters-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        try
        {
            int pid = fleet.ProcessId(0);
            using ToolProcess collect = ToolProcess.Start(counters, "collect", "-p", pid.ToString(CultureInfo.InvariantCulture),
                "--counters", FastSessionTelemetry.MeterName, "--format", "json", "-o", outputFile, "--refresh-interval", "1", "--duration", "00:00:00:10");
            await collect.WaitForOutputAsync(o => o.Contains("Starting a counter session", StringComparison.Ordinal), Fleet.Timeout, "dotnet-counters' session start");
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.True(await OpenSslClient.ConnectAsync(port, TlsVersion.Tls12, "-sess_in", first)); // a lookup and a hit
            string killed = pki.PathOf("killed.pem");
            var arguments = new[] { "s_client", "-connect", $"127.0.0.1:{port}", "-tls1_2", "-servername", "localhost", "-sess_out", killed };
            using (ToolProcess client = ToolProcess.Start("openssl", arguments))
            {
                await client.WriteAsync("ping-fleet\n");
                await client.WaitForOutputAsync(o => o.Split('\n').Any(l => l.Trim() == "ping-fleet"), Fleet.Timeout, "the echo");
            } // killed: a removal
            Assert.False(await OpenSslClient.ConnectAsync(port, TlsVersion.Tls12, "-sess_in", killed));
            int code = await collect.WaitForExitAsync(Fleet.Timeout);
            Assert.True(code == 0, $"dotnet-counters exited with {code}:\n{collect.Output}");

            string json = File.ReadAllText(outputFile);
            foreach (string instrument in new[] { "lookups ({lookup}", "hits ({session}", "misses ({lookup}", "stored ({session}", "removals ({session}" })
            {
                Assert.Contains($"\"name\": \"fastsession.server_store.{instrument} / 1 sec)\"", json, StringComparison.Ordinal);
            }
            Assert.Matches(@"""name"": ""fastsession\.server_store\.removals \(\{session\} / 1 sec\)"",\s*""tags"": ""fastsession\.invalidation\.reason=unclean_close"",[^}]*""value"": [1-9]", json);
            Assert.Matches(@"""name"": ""fastsession\.server_store\.hits \(\{session\} / 1 sec\)"",[^}]*""value"": [1-9]", json);
        }
        finally
        {
            File.Delete(outputFile);
        }
    }

    /// <summary>$FASTSESSION_DOTNET_COUNTERS, then artifacts/tools of the repository (where ./test.sh and .ci/run install it), PATH.</summary>
    private static string FindDotnetCounters([CallerFilePath] string sourceFile = "")
    {
        string? configured = Environment.GetEnvironmentVariable("FASTSESSION_DOTNET_COUNTERS");
        if (!string.IsNullOrEmpty(configured))
        {
            Assert.True(File.Exists(configured), $"FASTSESSION_DOTNET_COUNTERS={configured} does not exist.");
            return configured;
        }
        var candidates = new List<string>();
        foreach (string start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (DirectoryInfo? dir = new(start); dir is not null && start.Length > 0; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "FastSession.sln")))
                {
                    candidates.Add(Path.Combine(dir.FullName, "artifacts", "tools", "dotnet-counters"));
                    break;
                }
            }
        }
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => Path.Combine(p, "dotnet-counters")));
        string? found = candidates.FirstOrDefault(File.Exists);
        Assert.True(found is not null, "dotnet-counters was not found (looked in: " + string.Join(", ", candidates.Take(2)) +
            ", PATH). Install it as .ci/run does: dotnet tool install --tool-path artifacts/tools dotnet-counters");
        return found!;
    }
}
