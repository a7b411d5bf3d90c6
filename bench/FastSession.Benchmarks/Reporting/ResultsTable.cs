using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace FastSession.Benchmarks.Reporting;

/// <summary>
/// Joins BenchmarkDotNet's JSON reports (<c>*-report-full-compressed.json</c>) with the C reference's JSON lines
/// (bench/native, <c>{"op":..., "ns_per_op":...}</c>) into the tables of bench/RESULTS.md: medians, allocations,
/// ratios against C and SslStream, and each DESIGN.md target with whether it is met.
/// </summary>
internal static class ResultsTable
{
    private sealed record Result(string Type, string Method, IReadOnlyDictionary<string, string> Parameters, double MedianNs, double? AllocatedBytes);

    public static int Write(string resultsDirectory, string cbenchPath, string outputPath)
    {
        List<Result> managed = LoadManaged(resultsDirectory);
        Dictionary<string, double> c = LoadC(cbenchPath);
        // The C reference measured in-process by BenchmarkDotNet (libfastsession_cbench.so) replaces the standalone
        // binary's number: measured right next to the managed code, it is the one to compare with.
        foreach ((string op, string type, string method) in s_inProcessC)
        {
            Result? r = managed.FirstOrDefault(m => m.Type == type && m.Method == method);
            if (r is not null)
            {
                c[op] = r.MedianNs;
            }
        }
        foreach (Result r in managed.Where(m => m.Type == "MemoryHandshakeResetVsNew" && m.Method is "CNewConnections" or "CReset"))
        {
            c[$"handshake_tls{(Param(r, "Protocol") == "Tls12" ? "12" : "13")}_{Param(r, "Mode")?.ToLowerInvariant()}_{(r.Method == "CReset" ? "reset" : "new")}"] = r.MedianNs;
        }
        if (managed.Count == 0)
        {
            Console.Error.WriteLine($"no BenchmarkDotNet JSON report in {resultsDirectory}");
            return 1;
        }

        var md = new StringBuilder();
        WriteMicro(md, managed, c);
        WriteMemoryHandshakes(md, managed, c);
        WriteTcpHandshakes(md, managed);
        WriteAll(md, managed);
        File.WriteAllText(outputPath, md.ToString());
        Console.Write(md.ToString());
        return 0;
    }

    // ---- Micro-operations ----------------------------------------------------------------------

    private static readonly (string Op, string Type, string Method)[] s_inProcessC =
    {
        ("get0_resumable_direct", "Get0VsBaselines", "C"),
        ("get0_resumable_shim", "Get0VsBaselines", "CViaShim"),
        ("get1_free_direct", "Get1VsBaselines", "C"),
        ("get1_free_shim", "Get1VsBaselines", "CViaShim"),
        ("info_getters_direct", "InfoSnapshotVsPerField", "C"),
        ("info_snapshot_shim", "InfoSnapshotVsPerField", "CViaShim"),
        ("get0_id_version_time_resumable_direct", "InfoSnapshotVsPerField", "CFourGetters"),
    };

    private sealed record MicroRow(string Operation, string Type, string Method, string? COp, string? CShimOp, double? TargetRatio, bool TargetZeroAlloc);

    private static readonly MicroRow[] s_micro =
    {
        new("get0 view + IsResumable", "Get0VsBaselines", "FastSession", "get0_resumable_direct", "get0_resumable_shim", 1.0, true),
        new("", "Get0VsBaselines", "RawPointerSuppressGCTransition", "get0_resumable_direct", "get0_resumable_shim", null, false),
        new("", "Get0VsBaselines", "RawIntPtrDllImport", "get0_resumable_direct", "get0_resumable_shim", null, false),
        new("", "Get0VsBaselines", "SafeHandle", "get0_resumable_direct", "get0_resumable_shim", null, false),
        new("get1 + Dispose", "Get1VsBaselines", "FastSession", "get1_free_direct", "get1_free_shim", 1.15, true),
        new("", "Get1VsBaselines", "RawIntPtrDllImport", "get1_free_direct", "get1_free_shim", null, false),
        new("", "Get1VsBaselines", "SafeHandle", "get1_free_direct", "get1_free_shim", null, false),
        new("info snapshot (all fields)", "InfoSnapshotVsPerField", "Snapshot", "info_getters_direct", "info_snapshot_shim", 1.2, true),
        new("", "InfoSnapshotVsPerField", "PerFieldDllImport", "info_getters_direct", "info_snapshot_shim", null, false),
        new("get0 + id + version + time + resumable", "InfoSnapshotVsPerField", "ViewFourGetters", "get0_id_version_time_resumable_direct", "get0_id_version_time_resumable_shim", null, false),
        new("borrowed vs owned look", "BorrowedVsOwned", "Borrowed", "get0_resumable_direct", null, null, false),
        new("", "BorrowedVsOwned", "Owned", null, null, null, false),
        new("pooled vs class-per-acquire owned", "PooledVsNewOwned", "Pooled", null, null, null, false),
        new("", "PooledVsNewOwned", "NewOwned", null, null, null, false),
    };

    private static void WriteMicro(StringBuilder md, List<Result> managed, Dictionary<string, double> c)
    {
        md.AppendLine("### Micro-operations: FastSession and baselines against the C reference");
        md.AppendLine();
        md.AppendLine("| operation | .NET implementation | ns/op | allocated | C direct ns | × C | C via shim ns | × C via shim | target | met |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (MicroRow row in s_micro)
        {
            Result? r = managed.FirstOrDefault(m => m.Type == row.Type && m.Method == row.Method);
            if (r is null)
            {
                continue;
            }
            double? cNs = row.COp is not null && c.TryGetValue(row.COp, out double x) ? x : null;
            double? shimNs = row.CShimOp is not null && c.TryGetValue(row.CShimOp, out double y) ? y : null;
            double? ratio = cNs is > 0 ? r.MedianNs / cNs : null;
            string target = "", met = "";
            if (row.TargetRatio is double t)
            {
                target = $"≤ {t:0.##}× C{(row.TargetZeroAlloc ? ", 0 B" : "")}";
                bool ok = ratio is not null && ratio <= t && (!row.TargetZeroAlloc || r.AllocatedBytes == 0);
                met = ok ? "yes" : "**no**";
            }
            md.AppendLine($"| {row.Operation} | {row.Type}.{row.Method} | {Ns(r.MedianNs)} | {Bytes(r.AllocatedBytes)} | {Ns(cNs)} | {Ratio(ratio)} | {Ns(shimNs)} | {Ratio(shimNs is > 0 ? r.MedianNs / shimNs : null)} | {target} | {met} |");
        }
        md.AppendLine();
    }

    // ---- Handshakes over memory ----------------------------------------------------------------

    private static void WriteMemoryHandshakes(StringBuilder md, List<Result> managed, Dictionary<string, double> c)
    {
        const string type = "MemoryHandshakeResetVsNew";
        if (!managed.Any(m => m.Type == type))
        {
            return;
        }
        md.AppendLine("### Handshakes over memory (SslMemoryPipe) against the C reference (same flights through the shim)");
        md.AppendLine();
        md.AppendLine("| protocol | mode | connections | FastSession µs | allocated | C µs | rate × C | target | met |");
        md.AppendLine("|---|---|---|---:|---:|---:|---:|---|---|");
        foreach (string protocol in new[] { "Tls12", "Tls13" })
        {
            foreach (string mode in new[] { "Full", "Resumed" })
            {
                foreach ((string method, string cSuffix, double allowed) in new[] { ("NewConnections", "new", 256.0), ("Reset", "reset", 0.0) })
                {
                    Result? r = managed.FirstOrDefault(m => m.Type == type && m.Method == method && Param(m, "Protocol") == protocol && Param(m, "Mode") == mode);
                    if (r is null)
                    {
                        continue;
                    }
                    string op = $"handshake_tls{(protocol == "Tls12" ? "12" : "13")}_{mode.ToLowerInvariant()}_{cSuffix}";
                    double? cNs = c.TryGetValue(op, out double x) ? x : null;
                    double? rate = cNs is not null ? cNs / r.MedianNs : null;
                    string target = "", met = "";
                    if (mode == "Resumed")
                    {
                        target = $"≥ 0.9× C, ≤ {allowed:0} B";
                        met = rate is >= 0.9 && r.AllocatedBytes <= allowed ? "yes" : "**no**";
                    }
                    md.AppendLine($"| {Pretty(protocol)} | {mode.ToLowerInvariant()} | {(method == "Reset" ? "Reset() reuse" : "new per handshake")} | {Us(r.MedianNs)} | {Bytes(r.AllocatedBytes)} | {Us(cNs)} | {Ratio(rate)} | {target} | {met} |");
                }
            }
        }
        md.AppendLine();
    }

    // ---- Handshakes over loopback TCP ----------------------------------------------------------

    private static void WriteTcpHandshakes(StringBuilder md, List<Result> managed)
    {
        const string type = "TcpHandshakeFastSessionVsSslStream";
        if (!managed.Any(m => m.Type == type))
        {
            return;
        }
        md.AppendLine("### Handshakes over loopback TCP against SslStream (client + server in one process; allocations of both)");
        md.AppendLine();
        md.AppendLine("| protocol | mode | implementation | µs | allocated | rate × SslStream | allocations ÷ SslStream | target | met |");
        md.AppendLine("|---|---|---|---:|---:|---:|---:|---|---|");
        foreach (string protocol in new[] { "Tls12", "Tls13" })
        {
            foreach (string mode in new[] { "Full", "Resumed" })
            {
                Result? baseline = managed.FirstOrDefault(m => m.Type == type && m.Method == "SslStream" && Param(m, "Protocol") == protocol && Param(m, "Mode") == mode);
                foreach (string method in new[] { "SslStream", "FastSslStream", "FastSessionSocket" })
                {
                    Result? r = managed.FirstOrDefault(m => m.Type == type && m.Method == method && Param(m, "Protocol") == protocol && Param(m, "Mode") == mode);
                    if (r is null)
                    {
                        continue;
                    }
                    double? speed = baseline is not null && method != "SslStream" ? baseline.MedianNs / r.MedianNs : null;
                    double? allocation = baseline?.AllocatedBytes is > 0 && method != "SslStream" ? r.AllocatedBytes / baseline.AllocatedBytes : null;
                    string target = "", met = "";
                    if (protocol == "Tls12" && mode == "Resumed" && method != "SslStream")
                    {
                        target = "≥ 5×, ≤ ¼";
                        met = speed is >= 5 && allocation is <= 0.25 ? "yes" : "**no**";
                    }
                    md.AppendLine($"| {Pretty(protocol)} | {mode.ToLowerInvariant()} | {method} | {Us(r.MedianNs)} | {Bytes(r.AllocatedBytes)} | {Ratio(speed)} | {Ratio(allocation, "0.000")} | {target} | {met} |");
                }
            }
        }
        md.AppendLine();
    }

    // ---- Everything, per class, with the ratio to the class's baseline ----------------------------

    private static void WriteAll(StringBuilder md, List<Result> managed)
    {
        md.AppendLine("### Every managed benchmark (ratio to its class's baseline, computed from the medians)");
        md.AppendLine();
        md.AppendLine("| class | method | parameters | median | allocated | × baseline |");
        md.AppendLine("|---|---|---|---:|---:|---:|");
        foreach (IGrouping<string, Result> group in managed.GroupBy(m => m.Type))
        {
            foreach (Result r in group)
            {
                string baselineMethod = BaselineOf(r.Type);
                Result? b = group.FirstOrDefault(x => x.Method == baselineMethod && SameParameters(x, r));
                string parameters = string.Join(", ", r.Parameters.Select(p => $"{p.Key}={p.Value}"));
                string median = r.MedianNs >= 10_000 ? Us(r.MedianNs) + " µs" : Ns(r.MedianNs) + " ns";
                md.AppendLine($"| {r.Type} | {r.Method} | {parameters} | {median} | {Bytes(r.AllocatedBytes)} | {Ratio(b is not null ? r.MedianNs / b.MedianNs : null)} |");
            }
        }
        md.AppendLine();
    }

    private static string BaselineOf(string type) => type switch
    {
        "Get0VsBaselines" or "Get1VsBaselines" => "RawIntPtrDllImport",
        "InfoSnapshotVsPerField" => "PerFieldDllImport",
        "BorrowedVsOwned" => "Owned",
        "PooledVsNewOwned" => "NewOwned",
        "MemoryHandshakeResetVsNew" => "NewConnections",
        "TcpHandshakeFastSessionVsSslStream" => "SslStream",
        _ => "",
    };

    // ---- Loading -------------------------------------------------------------------------------

    private static List<Result> LoadManaged(string directory)
    {
        var results = new List<Result>();
        foreach (string file in Directory.EnumerateFiles(directory, "*-report-full-compressed.json", SearchOption.AllDirectories).Order())
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(file));
            foreach (JsonElement benchmark in document.RootElement.GetProperty("Benchmarks").EnumerateArray())
            {
                if (!benchmark.TryGetProperty("Statistics", out JsonElement statistics) || statistics.ValueKind != JsonValueKind.Object)
                {
                    continue; // a benchmark that failed has no statistics
                }
                double? allocated = benchmark.TryGetProperty("Memory", out JsonElement memory) && memory.ValueKind == JsonValueKind.Object &&
                    memory.TryGetProperty("BytesAllocatedPerOperation", out JsonElement bytes) && bytes.ValueKind == JsonValueKind.Number
                    ? bytes.GetDouble() : null;
                string parameters = benchmark.TryGetProperty("Parameters", out JsonElement p) ? p.GetString() ?? "" : "";
                var result = new Result(
                    benchmark.GetProperty("Type").GetString()!,
                    benchmark.GetProperty("Method").GetString()!,
                    ParseParameters(parameters),
                    statistics.GetProperty("Median").GetDouble(),
                    allocated);
                // A later report of the same benchmark (a re-run) replaces the earlier one.
                results.RemoveAll(x => x.Type == result.Type && x.Method == result.Method && SameParameters(x, result));
                results.Add(result);
            }
        }
        return results;
    }

    private static Dictionary<string, double> LoadC(string path)
    {
        var c = new Dictionary<string, double>();
        foreach (string line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line) || !line.TrimStart().StartsWith('{'))
            {
                continue;
            }
            using JsonDocument document = JsonDocument.Parse(line);
            if (document.RootElement.TryGetProperty("op", out JsonElement op) &&
                document.RootElement.TryGetProperty("ns_per_op", out JsonElement ns))
            {
                c[op.GetString()!] = ns.GetDouble();
            }
        }
        return c;
    }

    private static IReadOnlyDictionary<string, string> ParseParameters(string text)
    {
        var parameters = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in text.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = pair.IndexOf('=');
            if (equals > 0)
            {
                parameters[pair[..equals]] = pair[(equals + 1)..];
            }
        }
        return parameters;
    }

    private static bool SameParameters(Result a, Result b) =>
        a.Parameters.Count == b.Parameters.Count && a.Parameters.All(p => b.Parameters.TryGetValue(p.Key, out string? v) && v == p.Value);

    private static string? Param(Result r, string name) => r.Parameters.TryGetValue(name, out string? v) ? v : null;

    // ---- Formatting ----------------------------------------------------------------------------

    private static string Pretty(string protocol) => protocol == "Tls12" ? "TLS 1.2" : "TLS 1.3";

    private static string Ns(double? ns) => ns is double v ? v.ToString(v < 100 ? "0.00" : "0.0", CultureInfo.InvariantCulture) : "–";

    private static string Us(double? ns) => ns is double v ? (v / 1000).ToString(v < 100_000 ? "0.0" : "0", CultureInfo.InvariantCulture) : "–";

    private static string Bytes(double? bytes) => bytes is double v ? $"{v.ToString("0", CultureInfo.InvariantCulture)} B" : "–";

    private static string Ratio(double? ratio, string format = "0.00") => ratio is double v ? v.ToString(format, CultureInfo.InvariantCulture) + "×" : "–";
}
