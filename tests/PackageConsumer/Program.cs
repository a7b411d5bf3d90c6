using System;
using FastSession;

// Full handshake, capture the ticket, resumed handshake: exit 0 only if the second one resumed.
using var server = SslContext.CreateServer();
using var client = SslContext.CreateClient(new SslClientOptions { TrustedCertificatesPem = server.GetCertificatePem() });
var pipe = new SslMemoryPipe();
SslSession ticket = default;
using (var c = client.CreateConnection("localhost"))
using (var s = server.CreateConnection())
{
    pipe.Handshake(c, s);
    pipe.Shutdown(c, s);
    while (c.TryTakeNewSession(out SslSession next))
    {
        ticket.Dispose();
        ticket = next;
    }
}
using (ticket)
using (var c = client.CreateConnection("localhost"))
using (var s = server.CreateConnection())
{
    c.SetSession(ticket);
    pipe.Handshake(c, s);
    Console.WriteLine($"consumer: protocol={c.Protocol} reused={c.SessionReused}");
    pipe.Shutdown(c, s);
    return c.SessionReused ? 0 : 1;
}
