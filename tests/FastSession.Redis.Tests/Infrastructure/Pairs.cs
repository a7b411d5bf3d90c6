using System;

namespace FastSession.Redis.Tests.Infrastructure;

/// <summary>Real in-process handshakes over <see cref="SslMemoryPipe"/> between contexts standing for fleet members.</summary>
public static class Pairs
{
    public static SslContext Server(TlsVersion version, TicketKeyRing? ring = null)
    {
        SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version });
        if (ring is not null)
        {
            server.UseTicketKeys(ring);
        }
        return server;
    }

    public static SslContext Client(TlsVersion version) => SslContext.CreateClient(new SslClientOptions { MinVersion = version, MaxVersion = version });

    /// <summary>One connection (resuming <paramref name="resumeWith"/> when given), clean shutdown; returns reused and the last session received (owned).</summary>
    public static (bool Reused, SslSession Last) Connect(SslContext client, SslContext server, SslSession resumeWith = default)
    {
        var pipe = new SslMemoryPipe();
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        if (!resumeWith.IsNone)
        {
            c.SetSession(resumeWith);
        }
        pipe.Handshake(c, s);
        pipe.Shutdown(c, s);
        SslSession last = default;
        while (c.TryTakeNewSession(out SslSession next))
        {
            last.Dispose();
            last = next;
        }
        if (last.IsNone && c.TryAcquireSession(out SslSession current))
        {
            last = current; // TLS 1.2 resumption: the renewed ticket is on the connection's session
        }
        return (c.SessionReused, last);
    }
}
