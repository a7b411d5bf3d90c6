using System;
using System.Diagnostics;
using FastSession.Benchmarks.Handshakes;
using FastSession.Benchmarks.Infrastructure;
using FastSession.Benchmarks.Micro;

namespace FastSession.Benchmarks.Reporting;

/// <summary>
/// <c>--profile OPERATION ITERATIONS</c>: runs one benchmark body in a plain loop (no BenchmarkDotNet), so
/// <c>perf stat</c> / <c>perf record</c> see only it, and prints ns/op. Operations: get0, get1, info, pooled,
/// memory-tls12-full-reset, memory-tls12-resumed-reset, memory-tls13-full-reset, memory-tls13-resumed-reset
/// (and -new instead of -reset), tcp-{sslstream|fastsslstream|socket}-{tls12|tls13}-{full|resumed}. Also prints the
/// process CPU time per operation (all threads: for TCP, client and server), which bounds the rate under load.
/// </summary>
internal static class ProfileLoop
{
    public static int Run(string operation, long iterations)
    {
        Action body;
        Action cleanup;
        switch (operation.StartsWith("tcp-", StringComparison.Ordinal) ? "tcp" : operation)
        {
            case "get0":
            {
                var b = new Get0VsBaselines();
                b.Setup();
                body = () => b.FastSession();
                cleanup = b.Cleanup;
                break;
            }
            case "get1":
            {
                var b = new Get1VsBaselines();
                b.Setup();
                body = () => b.FastSession();
                cleanup = b.Cleanup;
                break;
            }
            case "info":
            {
                var b = new InfoSnapshotVsPerField();
                b.Setup();
                body = () => b.Snapshot();
                cleanup = b.Cleanup;
                break;
            }
            case "pooled":
            {
                var b = new PooledVsNewOwned();
                b.Setup();
                body = () => b.Pooled();
                cleanup = b.Cleanup;
                break;
            }
            case "tcp":
            {
                string[] parts = operation.Split('-');
                if (parts.Length != 4)
                {
                    Console.Error.WriteLine($"unknown operation {operation}");
                    return 2;
                }
                var b = new TcpHandshakeFastSessionVsSslStream
                {
                    Protocol = parts[2] == "tls12" ? TlsVersion.Tls12 : TlsVersion.Tls13,
                    Mode = parts[3] == "full" ? HandshakeMode.Full : HandshakeMode.Resumed,
                };
                b.Setup();
                body = parts[1] switch
                {
                    "sslstream" => () => b.SslStream().GetAwaiter().GetResult(),
                    "fastsslstream" => () => b.FastSslStream().GetAwaiter().GetResult(),
                    _ => b.FastSessionSocket,
                };
                cleanup = b.Cleanup;
                break;
            }
            default:
            {
                string[] parts = operation.Split('-');
                if (parts.Length != 4 || parts[0] != "memory")
                {
                    Console.Error.WriteLine($"unknown operation {operation}");
                    return 2;
                }
                var b = new MemoryHandshakeResetVsNew
                {
                    Protocol = parts[1] == "tls12" ? TlsVersion.Tls12 : TlsVersion.Tls13,
                    Mode = parts[2] == "full" ? HandshakeMode.Full : HandshakeMode.Resumed,
                };
                b.Setup();
                body = parts[3] == "reset" ? b.Reset : b.NewConnections;
                cleanup = b.Cleanup;
                break;
            }
        }
        for (long i = 0; i < Math.Max(1, iterations / 10); i++)
        {
            body(); // warm-up (tiering)
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        for (long i = 0; i < iterations; i++)
        {
            body();
        }
        watch.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        cleanup();
        Console.WriteLine($"{{\"op\":\"{operation}\",\"ns_per_op\":{watch.Elapsed.TotalNanoseconds / iterations:0.000},\"cpu_ns_per_op\":{cpu.TotalNanoseconds / iterations:0.000},\"allocated_per_op\":{(double)allocated / iterations:0.0},\"iterations\":{iterations}}}");
        return 0;
    }
}
