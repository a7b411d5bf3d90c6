using System;
using BenchmarkDotNet.Attributes;
using FastSession.Benchmarks.Infrastructure;
using FastSession.Benchmarks.Interop;

namespace FastSession.Benchmarks.Micro;

/// <summary>
/// Borrow the connection's session and read one field (<c>SSL_get0_session</c> + <c>SSL_SESSION_is_resumable</c>).
/// C reference: <c>get0_resumable_direct</c>. Target: FastSession ≤ 1.0× C, 0 B.
/// </summary>
[MemoryDiagnoser]
public class Get0VsBaselines
{
    private EstablishedPair _pair = null!;
    private SslConnection _client = null!;
    private IntPtr _ssl;
    private SafeSslHandle _safeSsl = null!;
    private int _c;
    private int _cViaShim;

    [GlobalSetup]
    public void Setup()
    {
        _pair = EstablishedPair.Create();
        _client = _pair.Client;
        _ssl = _pair.ClientSsl;
        _safeSsl = new SafeSslHandle(_ssl);
        _c = NativeReference.FindMicro("get0_resumable_direct");
        _cViaShim = NativeReference.FindMicro("get0_resumable_shim");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _safeSsl.Dispose();
        _pair.Dispose();
    }

    /// <summary>The borrowed <see cref="SslSessionRef"/> view: epoch-checked, cannot outlive the stack frame.</summary>
    [Benchmark]
    public bool FastSession() => _client.TryBorrowSession(out SslSessionRef session) && session.IsResumable;

    /// <summary>The same two exports through the generator's trivial imports over raw pointers (no view, no epoch).</summary>
    [Benchmark]
    public bool RawPointerSuppressGCTransition()
    {
        IntPtr session = PointerNative.SslGet0Session(_ssl);
        return session != IntPtr.Zero && PointerNative.SslSessionIsResumable(session) != 0;
    }

    /// <summary>A hand-written binding: plain DllImport over IntPtr (nothing stops a use after free).</summary>
    [Benchmark(Baseline = true)]
    public bool RawIntPtrDllImport()
    {
        IntPtr session = RawNative.SslGet0Session(_ssl);
        return session != IntPtr.Zero && RawNative.SslSessionIsResumable(session) != 0;
    }

    /// <summary>A typical safe wrapper: borrowing is not expressible with SafeHandle, so it takes a reference (get1) and releases it.</summary>
    [Benchmark]
    public bool SafeHandle()
    {
        using SafeSslSessionHandle session = SafeHandleNative.SslGet1Session(_safeSsl);
        return !session.IsInvalid && SafeHandleNative.SslSessionIsResumable(session) != 0;
    }

    /// <summary>The C reference <c>get0_resumable_direct</c> (bench/native), measured in this process.</summary>
    [Benchmark(OperationsPerInvoke = NativeReference.Batch)]
    public ulong C() => NativeReference.RunMicro(_c, NativeReference.Batch);

    /// <summary>The C reference <c>get0_resumable_shim</c> (bench/native), measured in this process.</summary>
    [Benchmark(OperationsPerInvoke = NativeReference.Batch)]
    public ulong CViaShim() => NativeReference.RunMicro(_cViaShim, NativeReference.Batch);
}
