using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using FastSession.Benchmarks.Reporting;

namespace FastSession.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/FastSession.Benchmarks -- [BenchmarkDotNet arguments]</c>, e.g.
/// <c>--filter '*' --job short</c>. Extra switches, handled here:
/// <list type="bullet">
/// <item><c>--smoke</c>: every benchmark once (one iteration, in-process) and exit 1 if any failed — the CI check.</item>
/// <item><c>--out-of-process</c>: let BenchmarkDotNet build and start a child process per benchmark (its default).
/// Without it the benchmarks run in this process (InProcessEmit): no second build of the solution into the source tree's
/// obj/ and bin/, which other builds of the same tree would race.</item>
/// <item><c>--profile OPERATION ITERATIONS</c>: one benchmark body in a plain loop, for perf (see ProfileLoop).</item>
/// <item><c>--combine RESULTS_DIR CBENCH_JSONL OUT_MD</c>: join BenchmarkDotNet's JSON reports with the C reference's
/// output (bench/native) into the ratio table of bench/RESULTS.md.</item>
/// </list>
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var rest = new List<string>(args);
        if (rest.Count > 0 && rest[0] == "--combine")
        {
            if (rest.Count != 4)
            {
                Console.Error.WriteLine("usage: --combine RESULTS_DIR CBENCH_JSONL OUT_MD");
                return 2;
            }
            return ResultsTable.Write(rest[1], rest[2], rest[3]);
        }

        if (rest.Count > 0 && rest[0] == "--profile")
        {
            if (rest.Count != 3 || !long.TryParse(rest[2], out long iterations))
            {
                Console.Error.WriteLine("usage: --profile OPERATION ITERATIONS");
                return 2;
            }
            return ProfileLoop.Run(rest[1], iterations);
        }

        bool smoke = rest.Remove("--smoke");
        bool outOfProcess = rest.Remove("--out-of-process");

        IConfig config = DefaultConfig.Instance.AddExporter(JsonExporter.FullCompressed);
        if (smoke)
        {
            // One cold invocation per benchmark, in this process: proves each setup, body and cleanup runs;
            // measures nothing. (A job given on the command line would replace this one: none is passed.)
            config = config.AddJob(Job.Dry.WithToolchain(InProcessEmitToolchain.Instance).WithId("Smoke"));
            if (!rest.Contains("--filter"))
            {
                rest.AddRange(new[] { "--filter", "*" });
            }
        }
        else if (!outOfProcess && !rest.Contains("--inProcess"))
        {
            rest.Add("--inProcess");
        }

        IEnumerable<Summary> summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest.ToArray(), config);
        return Check(summaries.ToList(), requireAny: smoke);
    }

    /// <summary>1 when a benchmark failed to build, threw, or (smoke) nothing ran at all.</summary>
    private static int Check(IReadOnlyList<Summary> summaries, bool requireAny)
    {
        int failures = 0, ran = 0;
        foreach (Summary summary in summaries)
        {
            if (summary.HasCriticalValidationErrors)
            {
                Console.Error.WriteLine($"benchmark validation failed: {summary.Title}");
                failures++;
            }
            foreach (BenchmarkCase benchmark in summary.BenchmarksCases)
            {
                BenchmarkReport? report = summary[benchmark];
                ran++;
                if (report is null || !report.Success || report.ExecuteResults.Any(r => !r.IsSuccess))
                {
                    Console.Error.WriteLine($"benchmark failed: {benchmark.DisplayInfo}");
                    failures++;
                }
            }
        }
        if (requireAny && ran == 0)
        {
            Console.Error.WriteLine("no benchmark ran");
            return 1;
        }
        Console.WriteLine($"{ran - failures} passed, {failures} failed");
        return failures == 0 ? 0 : 1;
    }
}
