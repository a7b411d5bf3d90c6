using System;
using System.Runtime.CompilerServices;
using FastSession.Interop;

namespace FastSession;

/// <summary>
/// A borrowed view of a connection's current <c>SSL_SESSION</c>, as returned by <c>SSL_get0_session</c>:
/// no reference is taken. Being a <c>ref struct</c> it cannot be stored on the heap, boxed, captured or held
/// across <c>await</c>; every accessor checks the connection's session epoch, so a view used after the
/// session changed, or after <c>SSL_clear</c>/<c>SSL_free</c>, throws <see cref="InvalidOperationException"/>
/// instead of reading freed memory (S1, S10). <see cref="ToOwned"/> takes a reference (<c>SSL_SESSION_up_ref</c>).
/// </summary>
/// <remarks>The fields, the epoch check, <c>ToOwned</c> and <c>ToString</c> are generated (FastSession.Generators).</remarks>
[BorrowedView(typeof(SslConnection), "fastsession_shim", UpRefEntryPoint = "FastSessionNative_SslSessionUpRef", OwnedType = typeof(SslSession))]
public readonly unsafe ref partial struct SslSessionRef
{
    /// <summary>Whether the session can resume a connection (<c>SSL_SESSION_is_resumable</c>, S5).</summary>
    public bool IsResumable => Alive(SessionNative.SslSessionIsResumable(DangerousGetPointer()) != 0);

    /// <summary>The session's protocol (<c>SSL_SESSION_get_protocol_version</c>).</summary>
    public TlsVersion Protocol => Alive((TlsVersion)SessionNative.SslSessionGetProtocolVersion(DangerousGetPointer()));

    /// <summary>When the session was established (<c>SSL_SESSION_get_time</c>).</summary>
    public DateTimeOffset Time => SslSessionInfo.UnixSeconds(Alive(SessionNative.SslSessionGetTime(DangerousGetPointer())));

    /// <summary>The session's lifetime (<c>SSL_SESSION_get_timeout</c>).</summary>
    public TimeSpan Timeout => SslSessionInfo.Seconds(Alive(SessionNative.SslSessionGetTimeout(DangerousGetPointer())));

    /// <summary>The session id (<c>SSL_SESSION_get_id</c>), by value.</summary>
    public SslSessionId Id
    {
        get
        {
            byte* buffer = stackalloc byte[ShimConstants.SessionIdMax];
            int length = Alive(SessionNative.SslSessionGetId(DangerousGetPointer(), buffer, ShimConstants.SessionIdMax));
            return new SslSessionId(new ReadOnlySpan<byte>(buffer, Math.Clamp(length, 0, ShimConstants.SessionIdMax)));
        }
    }

    /// <summary>Id of the context the session is bound to (0 while unbound).</summary>
    public ulong ContextId => Alive(SessionNative.SslSessionGetContextId(DangerousGetPointer()));

    /// <summary>Fills <paramref name="info"/> with every session field in one native call (<c>fs_session_info</c>).</summary>
    public void GetInfo(out SslSessionInfo info)
    {
        nint pointer = DangerousGetPointer();
        Unsafe.SkipInit(out info);
        fixed (SslSessionInfo* p = &info)
        {
            SessionNative.SslSessionGetInfo(pointer, p);
        }
        GC.KeepAlive(Owner);
    }

    // Keeps the owning connection reachable until the native call that produced value returned: a
    // connection dropped without Dispose must not be finalized (SSL_free) while its session is read.
    private T Alive<T>(T value)
    {
        GC.KeepAlive(Owner);
        return value;
    }
}
