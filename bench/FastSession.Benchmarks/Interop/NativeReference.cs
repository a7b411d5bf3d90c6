using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace FastSession.Benchmarks.Interop;

/// <summary>
/// The C reference (bench/native/cbench.c) as a library, libfastsession_cbench.so: the benchmark classes' <c>C…</c>
/// methods run its loops through one P/Invoke per batch, so BenchmarkDotNet measures C and managed code in the same
/// process, minutes apart at most — on a noisy virtual machine, the only way their ratio means something.
/// Found at <c>$FASTSESSION_CBENCH_LIB</c>, else at <c>artifacts/cbench/libfastsession_cbench.so</c> in the current
/// directory or one of its parents (bench/run.sh and bench/smoke.sh build it).
/// </summary>
internal static unsafe class NativeReference
{
    /// <summary>Operations per P/Invoke of a micro loop (BenchmarkDotNet's OperationsPerInvoke).</summary>
    public const int Batch = 1024;

    private const string Library = "fastsession_cbench";

    static NativeReference() => NativeLibrary.SetDllImportResolver(typeof(NativeReference).Assembly, Resolve);

    /// <summary>The id of a C micro loop (cbench.c k_loops), for <see cref="RunMicro"/>.</summary>
    public static int FindMicro(string name)
    {
        byte[] utf8 = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        fixed (byte* p = utf8)
        {
            int id = cbench_micro_find(p);
            return id >= 0 ? id : throw new ArgumentException($"libfastsession_cbench has no loop named {name}.", nameof(name));
        }
    }

    public static ulong RunMicro(int id, long iterations) => cbench_micro_run(id, iterations);

    public static IntPtr OpenHandshakes(TlsVersion protocol, bool resumed, bool reuse) =>
        cbench_handshake_open((int)protocol, resumed ? 1 : 0, reuse ? 1 : 0);

    public static void RunHandshakes(IntPtr state, long count) => cbench_handshake_run(state, count);

    public static void CloseHandshakes(IntPtr state)
    {
        if (state != IntPtr.Zero)
        {
            cbench_handshake_close(state);
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return IntPtr.Zero; // the shim and libssl: default probing
        }
        string? path = Environment.GetEnvironmentVariable("FASTSESSION_CBENCH_LIB");
        if (string.IsNullOrEmpty(path))
        {
            for (DirectoryInfo? dir = new(Environment.CurrentDirectory); dir is not null && path is null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "artifacts", "cbench", "libfastsession_cbench.so");
                path = File.Exists(candidate) ? candidate : null;
            }
        }
        if (path is null || !File.Exists(path))
        {
            throw new DllNotFoundException(
                "The C reference library libfastsession_cbench.so was not found: build it with " +
                "`cmake -S bench/native -B artifacts/cbench && cmake --build artifacts/cbench` (bench/run.sh does) and run from the " +
                "repository, or set FASTSESSION_CBENCH_LIB to its path.");
        }
        return NativeLibrary.Load(path);
    }

    [DllImport(Library, ExactSpelling = true)]
    private static extern int cbench_micro_find(byte* name);

    [DllImport(Library, ExactSpelling = true)]
    private static extern ulong cbench_micro_run(int id, long iterations);

    [DllImport(Library, ExactSpelling = true)]
    private static extern IntPtr cbench_handshake_open(int version, int resumed, int reuse);

    [DllImport(Library, ExactSpelling = true)]
    private static extern void cbench_handshake_run(IntPtr state, long count);

    [DllImport(Library, ExactSpelling = true)]
    private static extern void cbench_handshake_close(IntPtr state);
}
