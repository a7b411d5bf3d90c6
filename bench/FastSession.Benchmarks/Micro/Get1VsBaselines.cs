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

    [GlobalSetup]
    public void Setup()
    {
        _pair = EstablishedPair.Create();
        _client = _pair.Client;
        _ssl = _pair.ClientSsl;
        _safeSsl = new SafeSslHandle(_ssl);
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
}
