using System;
using System.Linq;
using System.Threading;
using FastSession.Tests.Infrastructure;
using Xunit;
using static FastSession.FastSessionTelemetry;

namespace FastSession.Tests.Observability;

/// <summary>
/// Every <see cref="SslResumptionOutcome"/> produced by real OpenSSL handshakes (both sides FastSession, memory
/// transport), seen on the connection and as the <c>fastsession.resumption.outcome</c> tag of exactly one
/// <c>fastsession.tls.handshakes</c> measurement per side. The reasons met against <c>openssl s_server</c> and in the
/// tool's JSON are in <see cref="OpenSslOutcomeTests"/>.
/// </summary>
public sealed class ResumptionOutcomeTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();
    private readonly MetricRecorder _metrics = new();

    public override void Dispose()
    {
        _metrics.Dispose();
        base.Dispose();
    }

    public static TheoryData<TlsVersion> Versions => new() { TlsVersion.Tls12, TlsVersion.Tls13 };

    [Theory]
    [MemberData(nameof(Versions))]
    public void NothingOffered_IsNotOffered_OnBothSides(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        (SslResumptionOutcome c, SslResumptionOutcome s, SslSession last) = Connect(client, server);
        last.Dispose();

        Assert.Equal(SslResumptionOutcome.NotOffered, c);
        Assert.Equal(SslResumptionOutcome.NotOffered, s);
        AssertOnlyOutcome("client", SslResumptionOutcome.NotOffered);
        AssertOnlyOutcome("server", SslResumptionOutcome.NotOffered);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void OfferedSession_IsResumed_OnBothSides_AndTheDurationCarriesTheOpenTelemetryTags(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        (_, _, SslSession first) = Connect(client, server);
        _metrics.Clear();

        (SslResumptionOutcome c, SslResumptionOutcome s, SslSession second) = Connect(client, server, offer: first);
        first.Dispose();
        second.Dispose();

        Assert.Equal(SslResumptionOutcome.Resumed, c);
        Assert.Equal(SslResumptionOutcome.Resumed, s);
        AssertOnlyOutcome("client", SslResumptionOutcome.Resumed);
        AssertOnlyOutcome("server", SslResumptionOutcome.Resumed);
        string protocol = version == TlsVersion.Tls13 ? "1.3" : "1.2";
        MetricRecorder.Recorded duration = Assert.Single(_metrics.Of(HandshakeDuration, (SideTag, "client")));
        Assert.True(duration.Has((ProtocolVersionTag, protocol), (ResumedTag, true)));
        Assert.False(duration.Tags.ContainsKey(ErrorTypeTag));
        Assert.InRange(duration.Value, 1e-7, 10);
        Assert.Single(_metrics.Of(HandshakeDuration, (SideTag, "server"), (ResumedTag, true)));
    }

    [Fact]
    public void EmptyCache_IsCacheMiss()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using var cache = new SslClientSessionCache();
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        c.CacheKey = new SslSessionCacheKey("localhost", 443);

        Assert.False(cache.TryTakeFor(c, out _));
        _pipe.Handshake(c, s);

        Assert.Equal(SslResumptionOutcome.CacheMiss, c.ResumptionOutcome);
        Assert.Equal(SslResumptionOutcome.NotOffered, s.ResumptionOutcome);
        AssertOnlyOutcome("client", SslResumptionOutcome.CacheMiss);
        Assert.Equal(1, _metrics.Sum(CacheMisses));
        Assert.Equal(0, _metrics.Sum(CacheHits));
    }

    [Fact]
    public void CacheHoldingOnlyExpiredSessions_IsCacheExpired_AndCountsAnExpiry()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        using var cache = new SslClientSessionCache(timeProvider: clock);
        var key = new SslSessionCacheKey("localhost", 443);
        Assert.True(cache.Add(key, Tls.ConnectAndCaptureLast(client, server, _pipe)));
        _metrics.Clear();
        clock.Now = clock.Now.AddDays(2);

        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        c.CacheKey = key;
        Assert.False(cache.TryTakeFor(c, out _));
        _pipe.Handshake(c, s);

        Assert.Equal(SslResumptionOutcome.CacheExpired, c.ResumptionOutcome);
        AssertOnlyOutcome("client", SslResumptionOutcome.CacheExpired);
        Assert.Equal(1, cache.Statistics.Expired);
        Assert.Equal(0, cache.Statistics.Invalidated);
        Assert.Equal(1, _metrics.Sum(CacheExpirations));
        Assert.Equal(1, _metrics.Sum(CacheMisses));
    }

    [Fact]
    public void CachedSessionKilledByAnUncleanClose_IsNotResumable_AndCountedAsInvalidatedNotExpired()
    {
        // TLS 1.2 with session ids: the connection resumes the very SSL_SESSION the cache holds, so its unclean close
        // (S8: SSL_free without SSL_shutdown) makes the cached entry non-resumable.
        using SslContext server = Tls.Server(TlsVersion.Tls12, tickets: false);
        using SslContext client = Tls.Client(TlsVersion.Tls12, tickets: false);
        using var cache = new SslClientSessionCache();
        var key = new SslSessionCacheKey("localhost", 443);
        Assert.True(cache.Add(key, Tls.ConnectAndCaptureLast(client, server, _pipe)));
        Assert.True(cache.TryTake(key, out SslSession shared));
        using (shared)
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = server.CreateConnection())
        {
            c.SetSession(shared);
            _pipe.Handshake(c, s);
            Assert.True(c.SessionReused);
            _metrics.Clear();
        } // no Shutdown: unclean
        Assert.Equal(1, _metrics.Sum(SessionsInvalidated, (SideTag, "client"), (InvalidationReasonTag, "unclean_close")));
        Assert.Equal(1, _metrics.Sum(SessionsInvalidated, (SideTag, "server"), (InvalidationReasonTag, "unclean_close")));
        _metrics.Clear();

        using SslConnection next = client.CreateConnection("localhost");
        using SslConnection nextServer = server.CreateConnection();
        next.CacheKey = key;
        Assert.False(cache.TryTakeFor(next, out _));
        _pipe.Handshake(next, nextServer);
        _pipe.Shutdown(next, nextServer);

        Assert.Equal(SslResumptionOutcome.NotResumable, next.ResumptionOutcome);
        AssertOnlyOutcome("client", SslResumptionOutcome.NotResumable);
        SslSessionCacheStatistics stats = cache.Statistics;
        Assert.Equal(1, stats.Invalidated);
        Assert.Equal(0, stats.Expired);
        Assert.Equal(1, _metrics.Sum(CacheInvalidations, (CacheRejectionTag, "not_resumable")));
        Assert.Equal(0, _metrics.Sum(CacheExpirations));
        Assert.Equal(0, _metrics.Sum(SessionsInvalidated)); // the last connection closed cleanly
    }

    [Fact]
    public void SetSessionRefusingANonResumableSession_IsNotResumable()
    {
        // A TLS 1.3 server that sends no ticket: the client's session never becomes resumable (S5).
        using SslContext noTickets = Tls.Server(TlsVersion.Tls13, ticketCount: 0);
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        SslSession early;
        using (SslConnection c = client.CreateConnection("localhost"))
        using (SslConnection s = noTickets.CreateConnection())
        {
            _pipe.Handshake(c, s);
            Assert.True(c.TryAcquireSession(out early));
            _pipe.Shutdown(c, s);
        }
        _metrics.Clear();
        using (early)
        {
            Assert.False(early.IsResumable);
            (SslResumptionOutcome c, _, SslSession last) = Connect(client, server, offer: early, offerThrows: typeof(ArgumentException));
            last.Dispose();
            Assert.Equal(SslResumptionOutcome.NotResumable, c);
        }
        AssertOnlyOutcome("client", SslResumptionOutcome.NotResumable);
    }

    [Fact]
    public void SetSessionRefusingASessionOfAnotherContext_IsOtherContext()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslContext otherClient = Tls.Client(TlsVersion.Tls13);
        (_, _, SslSession foreign) = Connect(otherClient, server);
        _metrics.Clear();
        using (foreign)
        {
            (SslResumptionOutcome c, _, SslSession last) = Connect(client, server, offer: foreign, offerThrows: typeof(SslContextMismatchException));
            last.Dispose();
            Assert.Equal(SslResumptionOutcome.OtherContext, c);
        }
        AssertOnlyOutcome("client", SslResumptionOutcome.OtherContext);
    }

    [Fact]
    public void ExpiredTls12Ticket_IsOfferedExpired_OnBothSides()
    {
        // The server's sessions live 1 s; its ticket outlives that by the time it is offered, so OpenSSL decrypts it,
        // finds it expired (ssl_get_prev_session) and runs a full handshake. (OpenSSL's TLS 1.2 client offers it anyway.)
        using SslContext server = Tls.Server(TlsVersion.Tls12, timeout: TimeSpan.FromSeconds(1));
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        (_, _, SslSession ticket) = Connect(client, server);
        Thread.Sleep(TimeSpan.FromMilliseconds(2200));
        _metrics.Clear();
        long decryptedBefore = Decrypted();

        (SslResumptionOutcome c, SslResumptionOutcome s, SslSession last) = Connect(client, server, offer: ticket);
        ticket.Dispose();
        last.Dispose();

        Assert.Equal(SslResumptionOutcome.OfferedExpired, c);
        Assert.Equal(SslResumptionOutcome.OfferedExpired, s);
        AssertOnlyOutcome("client", SslResumptionOutcome.OfferedExpired);
        AssertOnlyOutcome("server", SslResumptionOutcome.OfferedExpired);
        Assert.Equal(decryptedBefore + 1, Decrypted());
    }

    [Fact]
    public void ExpiredTls13Ticket_IsOfferedExpired_OnTheClient_AndNeverReachesTheServer()
    {
        // OpenSSL's TLS 1.3 client leaves out a PSK whose age (whole seconds, minus one) exceeds the ticket lifetime
        // hint (tls_construct_ctos_psk): 3.5 s after a 1 s ticket it always does, so the server sees no offer.
        using SslContext server = Tls.Server(TlsVersion.Tls13, timeout: TimeSpan.FromSeconds(1));
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        (_, _, SslSession ticket) = Connect(client, server);
        Thread.Sleep(TimeSpan.FromMilliseconds(3500));
        _metrics.Clear();
        long decryptedBefore = Decrypted();

        (SslResumptionOutcome c, SslResumptionOutcome s, SslSession last) = Connect(client, server, offer: ticket);
        ticket.Dispose();
        last.Dispose();

        Assert.Equal(SslResumptionOutcome.OfferedExpired, c);
        Assert.Equal(SslResumptionOutcome.NotOffered, s);
        AssertOnlyOutcome("client", SslResumptionOutcome.OfferedExpired);
        AssertOnlyOutcome("server", SslResumptionOutcome.NotOffered);
        Assert.Equal(decryptedBefore, Decrypted());
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void TicketOfAnotherServer_IsServerDeclined_AndTheServerTellsItCouldNotDecryptIt(TlsVersion version)
    {
        // Two servers with their own ticket keys: what a client meets after a restart or behind a load balancer.
        using SslContext first = Tls.Server(version);
        using SslContext second = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        (_, _, SslSession ticket) = Connect(client, first);
        _metrics.Clear();
        long before = _metrics.Observe(TicketDecryptions, (TicketStatusTag, "not_decrypted"));

        (SslResumptionOutcome c, SslResumptionOutcome s, SslSession last) = Connect(client, second, offer: ticket);
        ticket.Dispose();
        last.Dispose();

        Assert.Equal(SslResumptionOutcome.ServerDeclined, c);
        Assert.Equal(SslResumptionOutcome.TicketNotDecrypted, s);
        AssertOnlyOutcome("client", SslResumptionOutcome.ServerDeclined);
        AssertOnlyOutcome("server", SslResumptionOutcome.TicketNotDecrypted);
        Assert.Equal(before + 1, _metrics.Observe(TicketDecryptions, (TicketStatusTag, "not_decrypted")));
    }

    [Fact]
    public void Tls13SessionOfferedToATls12OnlyServer_IsVersionOrCipherMismatch()
    {
        using SslContext server13 = Tls.Server(TlsVersion.Tls13);
        using SslContext server12 = Tls.Server(TlsVersion.Tls12);
        // Two servers with their own ephemeral certificates; this test is about the offer, not verification.
        using SslContext client = SslContext.CreateClient(new SslClientOptions { MinVersion = TlsVersion.Tls12, MaxVersion = TlsVersion.Tls13, DangerousAcceptAnyServerCertificate = true });
        (_, _, SslSession ticket) = Connect(client, server13);
        Assert.Equal(TlsVersion.Tls13, ticket.Protocol);
        _metrics.Clear();

        (SslResumptionOutcome c, SslResumptionOutcome s, SslSession last) = Connect(client, server12, offer: ticket);
        ticket.Dispose();
        last.Dispose();

        Assert.Equal(SslResumptionOutcome.VersionOrCipherMismatch, c);
        Assert.Equal(SslResumptionOutcome.NotOffered, s);
        AssertOnlyOutcome("client", SslResumptionOutcome.VersionOrCipherMismatch);
        Assert.Single(_metrics.Of(Handshakes, (SideTag, "client"), (ProtocolVersionTag, "1.2")));
    }

    [Fact]
    public void FailedHandshake_IsHandshakeFailed_WithOpenSslsReasonAsErrorType()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext stranger = Tls.Server(TlsVersion.Tls13);
        using SslContext client = SslContext.CreateClient(new SslClientOptions
        {
            MinVersion = TlsVersion.Tls13,
            MaxVersion = TlsVersion.Tls13,
            TrustedCertificatesPem = stranger.GetCertificatePem(), // trusts another certificate than the server's
        });
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();

        Assert.ThrowsAny<Exception>(() => _pipe.Handshake(c, s));

        Assert.Equal(SslResumptionOutcome.HandshakeFailed, c.ResumptionOutcome);
        MetricRecorder.Recorded failed = Assert.Single(_metrics.Of(Handshakes, (SideTag, "client")));
        Assert.True(failed.Has((ResumptionOutcomeTag, "handshake_failed"), (ResumedTag, false)));
        Assert.Equal("certificate verify failed", failed.Tags[ErrorTypeTag]);
        MetricRecorder.Recorded duration = Assert.Single(_metrics.Of(HandshakeDuration, (SideTag, "client")));
        Assert.Equal("certificate verify failed", duration.Tags[ErrorTypeTag]);
    }

    [Fact]
    public void ResetStartsTheNextConnectionWithoutAnOutcome()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        _pipe.Shutdown(c, s);
        Assert.Equal(SslResumptionOutcome.NotOffered, c.ResumptionOutcome);

        c.Reset();
        s.Reset();

        Assert.Equal(SslResumptionOutcome.Unknown, c.ResumptionOutcome);
        Assert.Equal(SslResumptionOutcome.Unknown, s.ResumptionOutcome);
        Assert.Equal(0, _metrics.Sum(SessionsInvalidated)); // both closed cleanly
    }

    [Fact]
    public void EveryOutcomeHasATagName_AndAnUndefinedValueThrows()
    {
        string[] names = Enum.GetValues<SslResumptionOutcome>().Select(o => o.ToTagValue()).ToArray();
        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[a-z_]+$", n));
        Assert.Throws<ArgumentOutOfRangeException>(() => ((SslResumptionOutcome)999).ToTagValue());
    }

    // OpenSSL reports a decrypted TLS 1.3 ticket as SSL_TICKET_SUCCESS_RENEW, a TLS 1.2 one as SSL_TICKET_SUCCESS.
    private long Decrypted() =>
        _metrics.Observe(TicketDecryptions, (TicketStatusTag, "decrypted")) + _metrics.Observe(TicketDecryptions, (TicketStatusTag, "decrypted_renew"));

    /// <summary>One connection (handshake, clean shutdown). Returns both outcomes and the client's last session, owned.</summary>
    private (SslResumptionOutcome Client, SslResumptionOutcome Server, SslSession Last) Connect(
        SslContext client, SslContext server, SslSession offer = default, Type? offerThrows = null)
    {
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        if (!offer.IsNone)
        {
            if (offerThrows is null)
            {
                c.SetSession(offer);
            }
            else
            {
                Assert.Throws(offerThrows, () => c.SetSession(offer));
            }
        }
        _pipe.Handshake(c, s);
        _pipe.Shutdown(c, s);
        SslSession last = default;
        while (c.TryTakeNewSession(out SslSession next))
        {
            last.Dispose();
            last = next;
        }
        return (c.ResumptionOutcome, s.ResumptionOutcome, last);
    }

    /// <summary>Exactly one handshake of <paramref name="side"/> was counted since the last Clear, with <paramref name="outcome"/>.</summary>
    private void AssertOnlyOutcome(string side, SslResumptionOutcome outcome)
    {
        MetricRecorder.Recorded only = Assert.Single(_metrics.Of(Handshakes, (SideTag, side)));
        Assert.Equal(1, only.Value);
        Assert.Equal(outcome.ToTagValue(), only.Tags[ResumptionOutcomeTag]);
        Assert.Equal(outcome == SslResumptionOutcome.Resumed, only.Tags[ResumedTag]);
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
