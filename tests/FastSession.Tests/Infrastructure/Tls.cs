using System;

namespace FastSession.Tests.Infrastructure;

/// <summary>Small helpers to build real client/server pairs; every handshake is OpenSSL's.</summary>
public static class Tls
{
    public static SslContext Server(TlsVersion version, bool tickets = true, int ticketCount = 2, TimeSpan timeout = default, params string[] alpn)
    {
        var options = new SslServerOptions
        {
            MinVersion = version,
            MaxVersion = version,
            EnableTickets = tickets,
            TicketCount = ticketCount,
            SessionTimeout = timeout,
        };
        foreach (string p in alpn)
        {
            options.ApplicationProtocols.Add(p);
        }
        return SslContext.CreateServer(options);
    }

    public static SslContext Client(TlsVersion version, bool tickets = true, params string[] alpn)
    {
        // These pairs test the session API against ephemeral self-signed servers, and many connections carry no
        // server name: verification is explicitly off here. It is tested on its own (tests/.../Security).
        var options = new SslClientOptions { MinVersion = version, MaxVersion = version, EnableTickets = tickets, DangerousAcceptAnyServerCertificate = true };
        foreach (string p in alpn)
        {
            options.ApplicationProtocols.Add(p);
        }
        return SslContext.CreateClient(options);
    }

    /// <summary>Runs one full connection (handshake, clean shutdown) and returns the client's last captured session, owned.</summary>
    public static SslSession ConnectAndCaptureLast(SslContext client, SslContext server, SslMemoryPipe pipe, SslSession resumeWith = default, bool cleanShutdown = true)
    {
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        if (!resumeWith.IsNone)
        {
            c.SetSession(resumeWith);
        }
        pipe.Handshake(c, s);
        if (cleanShutdown)
        {
            pipe.Shutdown(c, s);
        }
        SslSession last = default;
        while (c.TryTakeNewSession(out SslSession next))
        {
            last.Dispose();
            last = next;
        }
        return last;
    }
}
