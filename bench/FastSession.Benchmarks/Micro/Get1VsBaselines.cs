using System;
using BenchmarkDotNet.Attributes;
using FastSession.Benchmarks.Infrastructure;
using FastSession.Benchmarks.Interop;

namespace FastSession.Benchmarks.Micro;

/// <summary>
/// Take an owned reference and drop it (<c>SSL_get1_session</c> + <c>SSL_SESSION_free</c>).
/// C reference: <c>get1_free_direct</c>. Target: FastSession ≤ 1.15× C, 0 B.
/// </summary>
[MemoryDiagnoser]
public class Get1VsBaselines
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
        _c = NativeReference.FindMicro("get1_free_direct");
        _cViaShim = NativeReference.FindMicro("get1_free_shim");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _safeSsl.Dispose();
        _pair.Dispose();
    }

    /// <summary>The pooled owned <see cref="SslSession"/>: frees exactly once, copies and double Dispose harmless.</summary>
    [Benchmark]
    public bool FastSession()
    {
        bool acquired = _client.TryAcquireSession(out SslSession session);
        session.Dispose();
        return acquired;
    }

    /// <summary>A hand-written binding: plain DllImport get1 + free over IntPtr.</summary>
    [Benchmark(Baseline = true)]
    public bool RawIntPtrDllImport()
    {
        IntPtr session = RawNative.SslGet1Session(_ssl);
        RawNative.SslSessionFree(session);
        return session != IntPtr.Zero;
    }

    /// <summary>A typical safe wrapper: a SafeHandle per acquire, released by Dispose.</summary>
    [Benchmark]
    public bool SafeHandle()
    {
        using SafeSslSessionHandle session = SafeHandleNative.SslGet1Session(_safeSsl);
        return !session.IsInvalid;
    }

    /// <summary>The C reference <c>get1_free_direct</c> (bench/native), measured in this process.</summary>
    [Benchmark(OperationsPerInvoke = NativeReference.Batch)]
    public ulong C() => NativeReference.RunMicro(_c, NativeReference.Batch);

    /// <summary>The C reference <c>get1_free_shim</c> (bench/native), measured in this process.</summary>
    [Benchmark(OperationsPerInvoke = NativeReference.Batch)]
    public ulong CViaShim() => NativeReference.RunMicro(_cViaShim, NativeReference.Batch);
}
