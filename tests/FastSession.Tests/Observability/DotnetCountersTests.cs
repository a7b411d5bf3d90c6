using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using Xunit;

namespace FastSession.Tests.Observability;

/// <summary>
/// The real <c>dotnet-counters</c> (installed by .ci/run into artifacts/tools) watches a real <c>fastsession serve</c>
/// process under connections and sees the <c>FastSession</c> meter; serve prints its resumption summary when it exits.
/// A missing dotnet-counters is a failure, not a skip: CI installs it, and a developer installs it with the command
/// in the failure message.
/// </summary>
public sealed class DotnetCountersTests : LiveObjectTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task DotnetCountersMonitorsTheFastSessionMeterOfServe_AndServePrintsItsResumptionSummary()
    {
        string counters = FindDotnetCounters();
        string tool = Path.Combine(AppContext.BaseDirectory, "FastSession.Cli");
        Assert.True(File.Exists(tool), $"{tool} is missing (the test project references FastSession.Cli).");
        string outputFile = Path.Combine(Path.GetTempPath(), $"fastsession-counters-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        // 4 rounds of 1 + 4 connections (each round: a full handshake then 4 resumed); serve exits by --count after the
        // last round, which runs after dotnet-counters finished (it stops when its target exits).
        using ToolProcess serve = ToolProcess.Start(tool, "serve", "--accept", "127.0.0.1:0", "--tls", "1.3", "--count", "20");
        await serve.WaitForOutputAsync(o => o.Contains("listening on", StringComparison.Ordinal), Timeout, "serve's listening line");
        int port = int.Parse(Regex.Match(serve.Output, @"listening on 127\.0\.0\.1:(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        await ConnectAsync(port, cancel.Token); // the meter's instruments exist from the first handshake on

        try
        {
            using ToolProcess collect = ToolProcess.Start(counters, "collect", "-p", serve.ProcessId.ToString(CultureInfo.InvariantCulture),
                "--counters", FastSessionTelemetry.MeterName, "--format", "json", "-o", outputFile, "--refresh-interval", "1", "--duration", "00:00:00:06");
            await collect.WaitForOutputAsync(o => o.Contains("Starting a counter session", StringComparison.Ordinal), Timeout, "dotnet-counters' session start");
            await Task.Delay(TimeSpan.FromSeconds(1.5), cancel.Token);
            await ConnectAsync(port, cancel.Token);
            await ConnectAsync(port, cancel.Token);
            int code = await collect.WaitForExitAsync(Timeout);
            Assert.True(code == 0, $"dotnet-counters exited with {code}:\n{collect.Output}");

            string json = File.ReadAllText(outputFile);
            Assert.Contains("\"provider\": \"FastSession\"", json, StringComparison.Ordinal);
            Assert.Matches(@"""name"": ""fastsession\.tls\.handshakes \(\{handshake\} / 1 sec\)"",\s*""tags"": ""[^""]*tls\.side=server", json);
            Assert.Contains("\"name\": \"tls.handshake.duration (s)\"", json, StringComparison.Ordinal);
            Assert.Contains("\"name\": \"fastsession.tls.tickets.sent ({ticket} / 1 sec)\"", json, StringComparison.Ordinal);
            Assert.Contains("\"name\": \"fastsession.live.connections ({connection})\"", json, StringComparison.Ordinal);
            // Handshakes happened while dotnet-counters listened: some interval saw a non-zero rate of resumed ones.
            Assert.Matches(@"""name"": ""fastsession\.tls\.handshakes \(\{handshake\} / 1 sec\)"",\s*""tags"": ""fastsession\.resumption\.outcome=resumed[^""]*tls\.side=server"",[^}]*""value"": [1-9]", json);

            await ConnectAsync(port, cancel.Token);
            int exit = await serve.WaitForExitAsync(Timeout);
            Assert.True(exit == 0, $"serve exited with {exit}:\n{serve.Output}");
            Assert.Contains("resumption: 20 handshakes, 16 resumed (80.0%); not resumed: not_offered 4", serve.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(outputFile);
        }
    }

    private static async Task ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        int code = await FastSessionTool.RunAsync(["connect", $"127.0.0.1:{port}", "--insecure", "--reconnect", "4"] /* serve's ephemeral certificate; this test is about the meter */, output, error, cancellationToken).WaitAsync(Timeout, cancellationToken);
        Assert.True(code == 0, $"connect exited with {code}: {error.Text}");
        Assert.Contains("reconnects resumed 4/4", output.Text, StringComparison.Ordinal);
    }

    /// <summary>$FASTSESSION_DOTNET_COUNTERS, then artifacts/tools (where .ci/run installs it), ~/.dotnet/tools, PATH.</summary>
    private static string FindDotnetCounters([CallerFilePath] string sourceFile = "")
    {
        string? configured = Environment.GetEnvironmentVariable("FASTSESSION_DOTNET_COUNTERS");
        if (!string.IsNullOrEmpty(configured))
        {
            Assert.True(File.Exists(configured), $"FASTSESSION_DOTNET_COUNTERS={configured} does not exist.");
            return configured;
        }
        var candidates = new System.Collections.Generic.List<string>();
        // The repository: above the test output, or (for test runs with another --artifacts-path, such as the sanitizer
        // run) above this source file.
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
        candidates.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-counters"));
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => Path.Combine(p, "dotnet-counters")));
        string? found = candidates.FirstOrDefault(File.Exists);
        Assert.True(found is not null,
            "dotnet-counters was not found (looked in: " + string.Join(", ", candidates.Take(3)) + ", PATH). " +
            "Install it as .ci/run does: dotnet tool install --tool-path artifacts/tools dotnet-counters");
        return found!;
    }
}
