using BenchmarkDotNet.Attributes;
using FastSession.Benchmarks.Infrastructure;
using FastSession.Benchmarks.Interop;

namespace FastSession.Benchmarks.Micro;

/// <summary>
/// The owned handle's shape: FastSession's pooled <see cref="SslSession"/> struct (a slot rented from a
/// per-thread pool) against a class allocated per acquire with a finalizer (<see cref="ClassOwnedSession"/>).
/// Both: get1 + IsResumable + Dispose.
/// </summary>
[MemoryDiagnoser]
public class PooledVsNewOwned
{
    private EstablishedPair _pair = null!;
    private SslConnection _client = null!;
    private System.IntPtr _ssl;

    [GlobalSetup]
    public void Setup()
    {
        _pair = EstablishedPair.Create();
        _client = _pair.Client;
        _ssl = _pair.ClientSsl;
    }

    [GlobalCleanup]
    public void Cleanup() => _pair.Dispose();

    [Benchmark]
    public bool Pooled()
    {
        if (!_client.TryAcquireSession(out SslSession session))
        {
            return false;
        }
        using (session)
        {
            return session.IsResumable;
        }
    }

    [Benchmark(Baseline = true)]
    public bool NewOwned()
    {
        using ClassOwnedSession? session = ClassOwnedSession.Acquire(_ssl);
        return session is not null && session.IsResumable;
    }
}
