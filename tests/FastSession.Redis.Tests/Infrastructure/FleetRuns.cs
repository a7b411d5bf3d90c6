using System;
using System.Globalization;
using System.IO;
using System.Threading.Tasks;
using FastSession.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Redis.Tests.Infrastructure;

/// <summary>What the cross-process fleet tests share: the offered-session count, the s_client pair run and the report line.</summary>
internal static class FleetRuns
{
    /// <summary>Offered sessions per configuration (FASTSESSION_FLEET_SESSIONS lengthens the run).</summary>
    public static int Offers => int.TryParse(Environment.GetEnvironmentVariable("FASTSESSION_FLEET_SESSIONS"), out int n) && n > 0 ? n : 12;

    /// <summary>For each pair: <c>openssl s_client -sess_out</c> on <c>From</c> (a full handshake), then <c>-sess_in</c> on <c>To</c>; returns how many resumed.</summary>
    public static async Task<int> RunPairsAsync(Fleet fleet, TestPki pki, TlsVersion version, (int From, int To)[] pairs)
    {
        int resumed = 0;
        for (int i = 0; i < pairs.Length; i++)
        {
            string file = pki.PathOf($"pair-{i}.pem");
            Assert.False(await OpenSslClient.ConnectAsync(fleet.Ports[pairs[i].From], version, "-sess_out", file));
            resumed += await OpenSslClient.ConnectAsync(fleet.Ports[pairs[i].To], version, "-sess_in", file) ? 1 : 0;
        }
        return resumed;
    }

    /// <summary>Writes a figure to the test output, and appends it to FASTSESSION_FLEET_REPORT when that is set.</summary>
    public static void Report(ITestOutputHelper output, string line)
    {
        output.WriteLine(line);
        string? file = Environment.GetEnvironmentVariable("FASTSESSION_FLEET_REPORT");
        if (!string.IsNullOrEmpty(file))
        {
            File.AppendAllText(file, line + Environment.NewLine);
        }
    }

    public static string Name(TlsVersion version) => version == TlsVersion.Tls12 ? "TLS 1.2" : "TLS 1.3";

    public static string Percent(int part, int whole) => whole == 0 ? "n/a" : (100.0 * part / whole).ToString("0.#", CultureInfo.InvariantCulture) + "%";
}
