using System;

namespace FastSession.Redis;

// DER in, owned session out, for every store: anything that is not a resumable, unexpired session is a miss.
internal static class SessionBytes
{
    internal static TimeSpan RemainingLifetime(SslSession session)
    {
        SslSessionInfo info = session.Info;
        DateTimeOffset expires = info.Time + info.Timeout;
        return expires - DateTimeOffset.UtcNow;
    }

    internal static SslSession Decode(byte[]? der, SslContext context, SessionStoreCounters counters)
    {
        if (der is null || der.Length == 0)
        {
            counters.Miss();
            return default;
        }
        SslSession session;
        try
        {
            session = SslSession.FromDer(der, context);
        }
        catch (SslSessionFormatException)
        {
            counters.Junk();
            counters.Miss();
            return default;
        }
        if (!session.IsResumable || RemainingLifetime(session) <= TimeSpan.Zero)
        {
            session.Dispose();
            counters.Miss();
            return default;
        }
        counters.Hit();
        return session;
    }
}
