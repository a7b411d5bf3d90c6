using System;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using FastSession.Benchmarks.Infrastructure;
using FastSession.Benchmarks.Interop;

namespace FastSession.Benchmarks.Micro;

/// <summary>
/// Every field of a session: FastSession's snapshot (one native call fills <see cref="SslSessionInfo"/>) against
/// one plain P/Invoke per field into the same data. C references: <c>info_getters_direct</c> (one OpenSSL getter per
/// field; target: snapshot ≤ 1.2× C, 0 B) and <c>info_snapshot_shim</c>; the four-getter view against
/// <c>get0_id_version_time_resumable_direct</c>.
/// </summary>
[MemoryDiagnoser]
public unsafe class InfoSnapshotVsPerField
{
    private EstablishedPair _pair = null!;
    private SslConnection _client = null!;
    private IntPtr _ssl;
    private int _c;
    private int _cViaShim;
    private int _cFourGetters;

    [GlobalSetup]
    public void Setup()
    {
        _pair = EstablishedPair.Create();
        _client = _pair.Client;
        _ssl = _pair.ClientSsl;
        _c = NativeReference.FindMicro("info_getters_direct");
        _cViaShim = NativeReference.FindMicro("info_snapshot_shim");
        _cFourGetters = NativeReference.FindMicro("get0_id_version_time_resumable_direct");
    }

    [GlobalCleanup]
    public void Cleanup() => _pair.Dispose();

    /// <summary>get0 view + <see cref="SslSessionRef.GetInfo"/>: two native calls, both without a GC transition.</summary>
    [Benchmark]
    public long Snapshot()
    {
        if (!_client.TryBorrowSession(out SslSessionRef session))
        {
            return 0;
        }
        session.GetInfo(out SslSessionInfo info);
        return info.Id.Length + info.CipherSuite + info.ServerNameUtf8.Length + (info.IsResumable ? 1 : 0);
    }

    /// <summary>get0 view + Id + Protocol + Time + IsResumable: one native call per property.</summary>
    [Benchmark]
    public long ViewFourGetters()
    {
        if (!_client.TryBorrowSession(out SslSessionRef session))
        {
            return 0;
        }
        SslSessionId id = session.Id;
        return id.Length + (int)session.Protocol + session.Time.Ticks + (session.IsResumable ? 1 : 0);
    }

    /// <summary>A hand-written binding: get0, then one plain DllImport per field into the same layout.</summary>
    [Benchmark(Baseline = true)]
    public long PerFieldDllImport()
    {
        IntPtr session = RawNative.SslGet0Session(_ssl);
        if (session == IntPtr.Zero)
        {
            return 0;
        }
        PerFieldInfo info;
        uint idLength;
        byte* id = LibSslNative.SSL_SESSION_get_id(session, &idLength);
        info.IdLength = Copy(info.Id, 32, id, idLength);
        info.ProtocolVersion = LibSslNative.SSL_SESSION_get_protocol_version(session);
        info.Resumable = LibSslNative.SSL_SESSION_is_resumable(session);
        info.Time = LibSslNative.SSL_SESSION_get_time(session);
        info.Timeout = LibSslNative.SSL_SESSION_get_timeout(session);
        info.TicketLifetimeHint = (uint)LibSslNative.SSL_SESSION_get_ticket_lifetime_hint(session);
        info.HasTicket = LibSslNative.SSL_SESSION_has_ticket(session);
        info.MaxEarlyData = LibSslNative.SSL_SESSION_get_max_early_data(session);
        info.ContextId = RawNative.SslSessionGetContextId(session);
        IntPtr cipher = LibSslNative.SSL_SESSION_get0_cipher(session);
        info.CipherId = cipher != IntPtr.Zero ? LibSslNative.SSL_CIPHER_get_protocol_id(cipher) : 0;
        byte* name = cipher != IntPtr.Zero ? LibSslNative.SSL_CIPHER_get_name(cipher) : null;
        info.CipherNameLength = name != null ? Copy(info.CipherName, 64, name, (uint)MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name).Length) : 0;
        byte* sni = LibSslNative.SSL_SESSION_get0_hostname(session);
        info.SniLength = sni != null ? Copy(info.Sni, 256, sni, (uint)MemoryMarshal.CreateReadOnlySpanFromNullTerminated(sni).Length) : 0;
        byte* alpn;
        nuint alpnLength;
        LibSslNative.SSL_SESSION_get0_alpn_selected(session, &alpn, &alpnLength);
        info.AlpnLength = alpn != null ? Copy(info.Alpn, 256, alpn, (uint)alpnLength) : 0;
        return info.IdLength + info.CipherId + info.SniLength + info.Resumable;
    }

    /// <summary>The C reference <c>info_getters_direct</c> (bench/native), measured in this process.</summary>
    [Benchmark(OperationsPerInvoke = NativeReference.Batch)]
    public ulong C() => NativeReference.RunMicro(_c, NativeReference.Batch);

    /// <summary>The C reference <c>info_snapshot_shim</c> (bench/native), measured in this process.</summary>
    [Benchmark(OperationsPerInvoke = NativeReference.Batch)]
    public ulong CViaShim() => NativeReference.RunMicro(_cViaShim, NativeReference.Batch);

    /// <summary>The C reference <c>get0_id_version_time_resumable_direct</c> (bench/native), measured in this process.</summary>
    [Benchmark(OperationsPerInvoke = NativeReference.Batch)]
    public ulong CFourGetters() => NativeReference.RunMicro(_cFourGetters, NativeReference.Batch);

    private static int Copy(byte* destination, int capacity, byte* source, uint length)
    {
        int n = (int)Math.Min(length, (uint)capacity);
        new ReadOnlySpan<byte>(source, n).CopyTo(new Span<byte>(destination, n));
        return n;
    }

    /// <summary>The fields of <c>fs_session_info</c>, filled one call at a time.</summary>
    private struct PerFieldInfo
    {
        public fixed byte Id[32];
        public int IdLength;
        public int ProtocolVersion;
        public uint CipherId;
        public int Resumable;
        public long Time;
        public long Timeout;
        public uint TicketLifetimeHint;
        public int HasTicket;
        public uint MaxEarlyData;
        public int SniLength;
        public int AlpnLength;
        public int CipherNameLength;
        public ulong ContextId;
        public fixed byte CipherName[64];
        public fixed byte Sni[256];
        public fixed byte Alpn[256];
    }
}
