using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Review;

/// <summary>
/// Review finding on fix 4a8eccd (regression): TryBorrowSession/TryBorrowPeerCertificate now throw when _busy is set,
/// and TryAcquireSession/TryAcquirePeerCertificate/TryTakeNewSession take the gate with Enter(). But
/// SessionEstablished handlers run inside the engine call, with the gate held by the same thread — and they are handed
/// the connection precisely so they can look at it (its CacheKey, its peer certificate, its current session). Every
/// such read now throws "Another call on this SslConnection is running", and since 4a8eccd a throwing handler also
/// faults the connection: a handler that pins or logs the peer certificate kills every connection. The gate must
/// tell same-thread re-entry (allowed, OpenSSL is not running) from a second thread.
/// </summary>
public sealed class HandlerReentrancyReviewTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void Handler_CanInspectTheConnectionItIsGiven(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        string? subject = null;
        bool sawSession = false, acquired = false;
        Exception? failure = null;
        client.SessionEstablished = (connection, session) =>
        {
            using (session)
            {
                try
                {
                    if (connection.TryBorrowPeerCertificate(out PeerCertificateRef certificate))
                    {
                        subject = certificate.Subject;
                    }
                    sawSession = connection.TryBorrowSession(out SslSessionRef current) && current.IsResumable;
                    if (connection.TryAcquireSession(out SslSession owned))
                    {
                        acquired = true;
                        owned.Dispose();
                    }
                }
                catch (Exception e)
                {
                    failure ??= e;
                    throw;
                }
            }
        };
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();

        Exception? handshake = Record.Exception(() => _pipe.Handshake(c, s));

        Assert.True(failure is null, $"reading the connection inside its own SessionEstablished handler threw: {failure}");
        Assert.Null(handshake);
        Assert.False(c.IsFaulted);
        Assert.Contains("localhost", subject, StringComparison.Ordinal);
        Assert.True(sawSession);
        Assert.True(acquired);
        _pipe.Shutdown(c, s);
    }
}
