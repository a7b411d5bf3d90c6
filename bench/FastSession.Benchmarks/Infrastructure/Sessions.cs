using System;

namespace FastSession.Benchmarks.Infrastructure;

/// <summary>Resumption bookkeeping shared by every handshake benchmark (and mirrored by cbench.c).</summary>
internal static class Sessions
{
    /// <summary>
    /// Takes every session the connection captured (TryTakeNewSession, one call each) and keeps the newest in
    /// <paramref name="keep"/>, disposing the one it replaces: a TLS 1.3 session is used for one resumption (S9),
    /// a TLS 1.2 one, which a resumed handshake does not renew, is kept.
    /// </summary>
    public static void TakeNewest(SslConnection connection, ref SslSession keep)
    {
        while (connection.TryTakeNewSession(out SslSession session))
        {
            keep.Dispose();
            keep = session;
        }
    }

    public static void EnsureReused(SslConnection connection)
    {
        if (!connection.SessionReused)
        {
            throw new InvalidOperationException("A handshake meant to resume did a full handshake (SSL_session_reused = 0).");
        }
    }

    public static void EnsureResumable(SslSession session)
    {
        if (session.IsNone || !session.IsResumable)
        {
            throw new InvalidOperationException("The seed handshake captured no resumable session.");
        }
    }
}

/// <summary>Full handshake, or resumption of the session captured by the previous one.</summary>
public enum HandshakeMode
{
    Full,
    Resumed,
}
