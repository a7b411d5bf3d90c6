using BenchmarkDotNet.Attributes;
using System;
using FastSession.Benchmarks.Infrastructure;
using FastSession.Benchmarks.Interop;

namespace FastSession.Benchmarks.Handshakes;

/// <summary>
/// One TLS connection over <see cref="SslMemoryPipe"/> (no sockets): handshake, TLS 1.3 tickets read, clean
/// close_notify both ways; resumed handshakes offer the newest captured session. New <see cref="SslConnection"/>s per
/// handshake (baseline) against <see cref="SslConnection.Reset"/> reuse (<c>SSL_clear</c>).
/// C references: <c>handshake_tls1{2,3}_{full,resumed}_{new,reset}</c>. Targets (resumed): ≥ 0.9× the C rate;
/// ≤ 256 B per handshake, 0 B with Reset().
/// </summary>
[MemoryDiagnoser]
public class MemoryHandshakeResetVsNew
{
    private SslContext _serverContext = null!;
    private SslContext _clientContext = null!;
    private SslMemoryPipe _pipe = null!;
    private SslConnection _client = null!;
    private SslConnection _server = null!;
    private SslSession _session;
    private IntPtr _cNew;
    private IntPtr _cReset;

    [Params(TlsVersion.Tls12, TlsVersion.Tls13)]
    public TlsVersion Protocol { get; set; }

    [Params(HandshakeMode.Full, HandshakeMode.Resumed)]
    public HandshakeMode Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _serverContext = SslContext.CreateServer(Contexts.Server(Protocol));
        _clientContext = SslContext.CreateClient(Contexts.Client(Protocol));
        _pipe = new SslMemoryPipe();
        _client = _clientContext.CreateConnection();
        _server = _serverContext.CreateConnection();
        if (Mode == HandshakeMode.Resumed)
        {
            // The seed: one full handshake and a clean close; its newest session is the first one resumed.
            using SslConnection client = _clientContext.CreateConnection();
            using SslConnection server = _serverContext.CreateConnection();
            _pipe.Handshake(client, server);
            _pipe.Shutdown(client, server);
            Sessions.TakeNewest(client, ref _session);
            Sessions.EnsureResumable(_session);
        }
        _cNew = NativeReference.OpenHandshakes(Protocol, Mode == HandshakeMode.Resumed, reuse: false);
        _cReset = NativeReference.OpenHandshakes(Protocol, Mode == HandshakeMode.Resumed, reuse: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeReference.CloseHandshakes(_cNew);
        NativeReference.CloseHandshakes(_cReset);
        _session.Dispose();
        _client.Dispose();
        _server.Dispose();
        _clientContext.Dispose();
        _serverContext.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void NewConnections()
    {
        using SslConnection client = _clientContext.CreateConnection();
        using SslConnection server = _serverContext.CreateConnection();
        Connect(client, server);
    }

    [Benchmark]
    public void Reset()
    {
        _client.Reset();
        _server.Reset();
        Connect(_client, _server);
    }

    /// <summary>The C reference of <see cref="NewConnections"/> (cbench.c hs_iterate), measured in this process.</summary>
    [Benchmark]
    public void CNewConnections() => NativeReference.RunHandshakes(_cNew, 1);

    /// <summary>The C reference of <see cref="Reset"/> (SSL_clear reuse), measured in this process.</summary>
    [Benchmark]
    public void CReset() => NativeReference.RunHandshakes(_cReset, 1);

    private void Connect(SslConnection client, SslConnection server)
    {
        bool resume = Mode == HandshakeMode.Resumed;
        if (resume)
        {
            client.SetSession(_session);
        }
        _pipe.Handshake(client, server);
        _pipe.Shutdown(client, server);
        if (resume)
        {
            Sessions.EnsureReused(client);
            Sessions.TakeNewest(client, ref _session);
        }
    }
}
