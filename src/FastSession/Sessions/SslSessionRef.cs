using System;
using FastSession.Interop;

namespace FastSession;

/// <summary>
/// A borrowed view of a connection's current <c>SSL_SESSION</c>, as returned by <c>SSL_get0_session</c>:
/// no reference is taken. Being a <c>ref struct</c> it cannot be stored on the heap, boxed, captured or held
/// across <c>await</c>. Every accessor takes a reader lease on the connection and checks the session epoch inside
/// it, so a view used after the session changed, or after <c>SSL_clear</c>/<c>SSL_free</c>, throws
/// <see cref="InvalidOperationException"/> instead of reading freed memory (S1, S10), and no call on another thread can
/// free the session while an accessor reads it (see SslConnection.Gate.cs). <see cref="ToOwned"/> takes a reference
/// (<c>SSL_SESSION_up_ref</c>).
/// </summary>
/// <remarks>The fields, the lease (<c>Enter</c>), <c>ToOwned</c> and <c>ToString</c> are generated (FastSession.Generators).</remarks>
[BorrowedView(typeof(SslConnection), "fastsession_shim", UpRefEntryPoint = "FastSessionNative_SslSessionUpRef", OwnedType = typeof(SslSession))]
public readonly ref partial struct SslSessionRef
{
    /// <summary>Whether the session can resume a connection (<c>SSL_SESSION_is_resumable</c>, S5).</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale, or another thread is running an engine call on the connection.</exception>
    public bool IsResumable
    {
        get => LibSslNative.SslSessionIsResumable(this) != 0;
    }

    /// <summary>The session's protocol (<c>SSL_SESSION_get_protocol_version</c>).</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale, or another thread is running an engine call on the connection.</exception>
    public TlsVersion Protocol
    {
        get => (TlsVersion)SessionNative.SslSessionGetProtocolVersion(this);
    }

    /// <summary>When the session was established (<c>SSL_SESSION_get_time</c>).</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale, or another thread is running an engine call on the connection.</exception>
    public DateTimeOffset Time
    {
        get => SslSessionInfo.UnixSeconds(SessionNative.SslSessionGetTime(this));
    }

    /// <summary>The session's lifetime (<c>SSL_SESSION_get_timeout</c>).</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale, or another thread is running an engine call on the connection.</exception>
    public TimeSpan Timeout
    {
        get => SslSessionInfo.Seconds(SessionNative.SslSessionGetTimeout(this));
    }

    /// <summary>The session id (<c>SSL_SESSION_get_id</c>), by value.</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale, or another thread is running an engine call on the connection.</exception>
    public SslSessionId Id
    {
        get
        {
            Span<byte> buffer = stackalloc byte[ShimConstants.SessionIdMax];
            int length = SessionNative.SslSessionGetId(this, buffer, buffer.Length);
            return new SslSessionId(buffer[..Math.Clamp(length, 0, buffer.Length)]);
        }
    }

    /// <summary>Id of the context the session is bound to (0 while unbound).</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale, or another thread is running an engine call on the connection.</exception>
    public ulong ContextId
    {
        get => SessionNative.SslSessionGetContextId(this);
    }

    /// <summary>Fills <paramref name="info"/> with every session field in one native call (<c>fs_session_info</c>).</summary>
    /// <exception cref="InvalidOperationException">The view is empty or stale, or another thread is running an engine call on the connection.</exception>
    public void GetInfo(out SslSessionInfo info) => SessionNative.SslSessionGetInfo(this, out info);
}
