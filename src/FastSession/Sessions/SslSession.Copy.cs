using System;
using FastSession.Interop;

namespace FastSession;

public readonly partial struct SslSession
{
    /// <summary>
    /// A true copy of the session (<c>SSL_SESSION_dup</c>): a new, independent <c>SSL_SESSION</c> with the same
    /// contents and context binding, owned by the caller. Unlike <see cref="Duplicate"/>, which adds a reference to
    /// the same object, changes to one (e.g. <see cref="SetTimeout"/>) do not show in the other.
    /// </summary>
    /// <exception cref="ObjectDisposedException">This session was disposed.</exception>
    /// <exception cref="InvalidOperationException">This is <c>default(SslSession)</c>, or <c>SSL_SESSION_dup</c> failed.</exception>
    public SslSession Copy()
    {
        if (IsNone)
        {
            throw new InvalidOperationException("default(SslSession) holds no session to copy.");
        }
        SslSession copy = ServerNative.SslSessionDup(this);
        if (copy.IsNone)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("SSL_SESSION_dup"));
        }
        return copy;
    }
}
