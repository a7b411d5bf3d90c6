using System;
using FastSession.Interop;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Misuse;

/// <summary>
/// Every way the public API can be misused yields its documented managed exception, leaves OpenSSL's error
/// queue empty and leaks nothing (LiveObjectTest) — never memory corruption.
/// </summary>
public sealed class MisuseCatalogueTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    public override void Dispose()
    {
        Assert.Equal(0ul, ErrorNative.ErrGetError());
        base.Dispose();
    }

    [Fact]
    public void DisposedConnection_EveryCallThrowsObjectDisposed()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        SslConnection c = client.CreateConnection("localhost");
        c.Dispose();

        Assert.True(c.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => c.TryBorrowSession(out _));
        Assert.Throws<ObjectDisposedException>(() => c.TryAcquireSession(out _));
        Assert.Throws<ObjectDisposedException>(() => c.Handshake(default, new byte[64]));
        Assert.Throws<ObjectDisposedException>(() => c.Read(default, new byte[64], new byte[64]));
        Assert.Throws<ObjectDisposedException>(() => c.Write(new byte[1], new byte[64]));
        Assert.Throws<ObjectDisposedException>(() => c.Reset());
        Assert.Throws<ObjectDisposedException>(() => _ = c.SessionReused);
        Assert.Throws<ObjectDisposedException>(() => c.TryTakeNewSession(out _));
        c.Dispose();
    }

    [Fact]
    public void DisposedContext_CannotCreateConnections_ButItsConnectionsKeepWorking()
    {
        SslContext server = Tls.Server(TlsVersion.Tls13);
        SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        server.Dispose();
        client.Dispose();

        Assert.Throws<ObjectDisposedException>(() => client.CreateConnection("localhost"));
        Assert.Throws<ObjectDisposedException>(() => server.FlushExpiredSessions(DateTimeOffset.UtcNow));
        // SSL objects hold their own SSL_CTX reference: the handshake still works.
        _pipe.Handshake(c, s);
        Assert.True(c.IsHandshakeComplete);
        _pipe.Shutdown(c, s);
        while (c.TryTakeNewSession(out SslSession t))
        {
            t.Dispose();
        }
    }

    [Fact]
    public void SetSessionWithDefault_ThrowsArgument()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");

        Assert.Throws<ArgumentException>(() => c.SetSession(default));
    }

    [Fact]
    public void SetSessionWithANonResumableOrForeignSession_Throws_AndLeavesNoOpenSslError()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslContext other = Tls.Client(TlsVersion.Tls12);
        using SslSession unclean = Tls.ConnectAndCaptureLast(client, server, _pipe, cleanShutdown: false);
        using SslSession clean = Tls.ConnectAndCaptureLast(client, server, _pipe);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection foreign = other.CreateConnection("localhost");

        Assert.False(unclean.IsResumable);
        Assert.Throws<ArgumentException>(() => c.SetSession(unclean));
        Assert.Equal(0ul, ErrorNative.ErrGetError());
        Assert.Throws<SslContextMismatchException>(() => foreign.SetSession(clean));
        Assert.Equal(0ul, ErrorNative.ErrGetError());
    }

    [Fact]
    public void SetSessionOnAServerConnection_ThrowsInvalidOperation()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        using SslConnection s = server.CreateConnection();

        Assert.Throws<InvalidOperationException>(() => s.SetSession(session));
    }

    [Fact]
    public void ResetFromInsideAnEngineCall_ThrowsInvalidOperation_FaultsTheConnection_AndResetRecovers()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 1);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        int attempts = 0;
        client.SessionEstablished = (connection, session) =>
        {
            session.Dispose();
            attempts++;
            connection.Reset(); // re-entrant use while the read that delivered the ticket is running
        };
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => _pipe.Handshake(c, s));

        Assert.Contains("one thread at a time", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, attempts);
        // The handler's exception escaped the engine call, so the connection is faulted (its result was lost)…
        Assert.True(c.IsFaulted);
        Assert.Throws<InvalidOperationException>(() => c.Read(default, new byte[16], new byte[16]));
        // …and Reset makes the object usable for a new connection.
        client.SessionEstablished = null;
        c.Reset();
        s.Reset();
        _pipe.Handshake(c, s);
        byte[] received = new byte[16];
        Assert.Equal(4, _pipe.Send(c, s, "ping"u8, received));
        _pipe.Shutdown(c, s);
        while (c.TryTakeNewSession(out SslSession t))
        {
            t.Dispose();
        }
    }

    [Fact]
    public void ThrowingSessionHandler_PropagatesAndLeaksNoSession()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13, ticketCount: 4);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        client.SessionEstablished = (connection, session) =>
        {
            session.Dispose();
            throw new InvalidTimeZoneException("handler failed");
        };
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();

        Assert.Throws<InvalidTimeZoneException>(() => _pipe.Handshake(c, s));
        // The other three tickets of that read were freed by the library (LiveObjectTest checks).
    }

    [Fact]
    public void InvalidOptions_ThrowArgumentExceptions()
    {
        Assert.Throws<ArgumentException>(() => SslContext.CreateClient(new SslClientOptions { MinVersion = TlsVersion.Tls13, MaxVersion = TlsVersion.Tls12 }));
        Assert.Throws<ArgumentException>(() => SslContext.CreateClient(new SslClientOptions { MinVersion = (TlsVersion)0x0301 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SslContext.CreateServer(new SslServerOptions { TicketCount = -1 }));
        Assert.Throws<ArgumentException>(() => SslContext.CreateServer(new SslServerOptions { CertificatePem = "x" }));
        Assert.Throws<ArgumentException>(() => SslContext.CreateClient(new SslClientOptions { UseSystemTrustStore = false }));
        var alpn = new SslClientOptions();
        alpn.ApplicationProtocols.Add("");
        Assert.Throws<ArgumentException>(() => SslContext.CreateClient(alpn));
    }

    [Fact]
    public void MalformedCertificatePem_ThrowsArgumentWithOpenSslsReason()
    {
        var options = new SslServerOptions { CertificatePem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", PrivateKeyPem = "nope" };

        ArgumentException e = Assert.Throws<ArgumentException>(() => SslContext.CreateServer(options));

        Assert.Contains("certificate", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ServerConnectionWithAServerName_ThrowsArgument()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);

        Assert.Throws<ArgumentException>(() => server.CreateConnection("example.com"));
    }

    [Fact]
    public void PeerThatSendsGarbageMidHandshake_FailsTheHandshake_ThenIOThrows()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        byte[] output = new byte[65536];
        c.Handshake(default, output);

        SslIoResult r = c.Handshake("HTTP/1.1 400 Bad Request\r\n\r\n"u8, output);

        Assert.Equal(SslStatus.Failed, r.Status);
        Assert.Contains("TLS handshake failed", r.Error, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => c.Handshake(default, output));
        c.Reset();
        Assert.False(c.IsFaulted);
    }

    [Fact]
    public void StaleOwnedCopyAfterReuseOfItsSlot_NeverFreesTheNewSession()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        for (int i = 0; i < 100; i++)
        {
            Assert.True(c.TryAcquireSession(out SslSession a));
            SslSession stale = a;
            a.Dispose();
            Assert.True(c.TryAcquireSession(out SslSession b));
            stale.Dispose();
            Assert.True(b.IsResumable);
            b.Dispose();
        }
        _pipe.Shutdown(c, s);
    }
}
