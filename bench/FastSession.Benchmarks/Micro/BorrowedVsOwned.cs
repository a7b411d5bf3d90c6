using BenchmarkDotNet.Attributes;
using FastSession.Benchmarks.Infrastructure;

namespace FastSession.Benchmarks.Micro;

/// <summary>
/// What borrowing saves over owning when all the caller wants is to look: get0 + IsResumable against
/// get1 + IsResumable + Dispose, both through FastSession's handles.
/// </summary>
[MemoryDiagnoser]
public class BorrowedVsOwned
{
    private EstablishedPair _pair = null!;
    private SslConnection _client = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pair = EstablishedPair.Create();
        _client = _pair.Client;
    }

    [GlobalCleanup]
    public void Cleanup() => _pair.Dispose();

    [Benchmark]
    public bool Borrowed() => _client.TryBorrowSession(out SslSessionRef session) && session.IsResumable;

    [Benchmark(Baseline = true)]
    public bool Owned()
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
}
