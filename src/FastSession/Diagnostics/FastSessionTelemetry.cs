namespace FastSession;

/// <summary>
/// Names of FastSession's <see cref="System.Diagnostics.Metrics.Meter"/> (<c>FastSession</c>) and its instruments, for
/// <c>dotnet-counters monitor --counters FastSession</c>, OpenTelemetry's <c>AddMeter("FastSession")</c> and
/// <see cref="System.Diagnostics.Metrics.MeterListener"/>. OpenTelemetry semantic-convention names where they exist
/// (<c>tls.*</c>, <c>error.type</c>), <c>fastsession.*</c> otherwise. Every handshake run through
/// <see cref="SslConnection.Handshake"/> (so every <see cref="FastSslStream"/> and host built on them) is recorded;
/// nothing is allocated while nobody listens.
/// </summary>
public static class FastSessionTelemetry
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "FastSession";

    /// <summary>Histogram, seconds, from the first handshake flight to completion or failure. Tags: <see cref="ProtocolVersionTag"/>,
    /// <see cref="ResumedTag"/>, <see cref="SideTag"/>, <see cref="ErrorTypeTag"/> on failure (as Kestrel's <c>kestrel.tls_handshake.duration</c>).</summary>
    public const string HandshakeDuration = "tls.handshake.duration";

    /// <summary>Counter of completed or failed handshakes. Tags: <see cref="SideTag"/>, <see cref="ProtocolVersionTag"/>,
    /// <see cref="ResumedTag"/>, <see cref="ResumptionOutcomeTag"/>, <see cref="ErrorTypeTag"/> on failure.</summary>
    public const string Handshakes = "fastsession.tls.handshakes";

    /// <summary>Observable counter: sessions the shim's new-session callback captured (clients: TLS 1.2 sessions and every TLS 1.3 ticket).</summary>
    public const string SessionsCaptured = "fastsession.tls.sessions.captured";

    /// <summary>Observable counter: captured client sessions that carry a ticket.</summary>
    public const string TicketsReceived = "fastsession.tls.tickets.received";

    /// <summary>Observable counter: tickets servers generated (Netty's "new").</summary>
    public const string TicketsSent = "fastsession.tls.tickets.sent";

    /// <summary>
    /// Observable counter: tickets servers were presented, by <see cref="TicketStatusTag"/>: <c>decrypted</c> (Netty's "resumed"),
    /// <c>decrypted_renew</c> (decrypted with an older key: "renewed"), <c>not_decrypted</c> ("failed": unknown or retired key),
    /// <c>empty</c>. Fed by OpenSSL's ticket decrypt status whatever the key source, so ticket-key rings report here too.
    /// </summary>
    public const string TicketDecryptions = "fastsession.tls.ticket.decryptions";

    /// <summary>Counter: connections closed after a handshake without a clean shutdown, whose session OpenSSL marked
    /// non-resumable (S8). Tags: <see cref="SideTag"/>, <see cref="InvalidationReasonTag"/> (<c>unclean_close</c> | <c>fatal_error</c>).</summary>
    public const string SessionsInvalidated = "fastsession.tls.sessions.invalidated";

    /// <summary>Counter: <see cref="SslClientSessionCache"/> takes that returned a session.</summary>
    public const string CacheHits = "fastsession.client_cache.hits";

    /// <summary>Counter: cache takes that found no usable session.</summary>
    public const string CacheMisses = "fastsession.client_cache.misses";

    /// <summary>Counter: sessions the cache refused when added. Tag <see cref="CacheRejectionTag"/>: <c>not_resumable</c> | <c>duplicate</c> | <c>disposed</c>.</summary>
    public const string CacheRejections = "fastsession.client_cache.rejections";

    /// <summary>Counter: cached sessions dropped because they expired (timeout or ticket lifetime hint).</summary>
    public const string CacheExpirations = "fastsession.client_cache.expirations";

    /// <summary>Counter: cached sessions dropped to make room (per-key or total capacity).</summary>
    public const string CacheEvictions = "fastsession.client_cache.evictions";

    /// <summary>Counter: TLS 1.3 sessions handed out once and removed (S9).</summary>
    public const string CacheSingleUse = "fastsession.client_cache.single_use";

    /// <summary>Counter: cached sessions found unusable and dropped. Tag <see cref="CacheRejectionTag"/>: <c>not_resumable</c>
    /// (invalidated by an unclean close or a fatal error after it was cached) | <c>disposed</c> (disposed by its giver).</summary>
    public const string CacheInvalidations = "fastsession.client_cache.invalidations";

    /// <summary>Counter: server handshakes that paused to look their offered session id or stateful ticket up in the
    /// server session store (<see cref="SslContext.UseServerSessionStore"/>).</summary>
    public const string ServerStoreLookups = "fastsession.server_store.lookups";

    /// <summary>Counter: server store lookups that handed OpenSSL a session of the key asked for.</summary>
    public const string ServerStoreHits = "fastsession.server_store.hits";

    /// <summary>Counter: server store lookups that went on as full handshakes (nothing stored, errors, timeouts, garbage).</summary>
    public const string ServerStoreMisses = "fastsession.server_store.misses";

    /// <summary>Counter: server store calls that threw or outlasted <see cref="SslContext.ServerSessionLookupTimeout"/>. Tags
    /// <see cref="ServerStoreOperationTag"/> (<c>get</c> | <c>add</c> | <c>remove</c>) and <see cref="ErrorTypeTag"/>
    /// (<c>timeout</c> or the exception's type name).</summary>
    public const string ServerStoreErrors = "fastsession.server_store.errors";

    /// <summary>Counter: store answers that were no session of their key (a miss).</summary>
    public const string ServerStoreGarbage = "fastsession.server_store.garbage";

    /// <summary>Counter: new server sessions the store accepted.</summary>
    public const string ServerStoreStored = "fastsession.server_store.stored";

    /// <summary>Histogram (s): how long a paused server handshake waited for the server session store's answer (the
    /// round trip plus the wake-ups around it; at most <see cref="SslContext.ServerSessionLookupTimeout"/>).</summary>
    public const string ServerStoreLookupDuration = "fastsession.server_store.lookup.duration";

    /// <summary>Counter: sessions removed from the server store because their connection ended without a clean shutdown
    /// or with a fatal error (S8). Tag <see cref="InvalidationReasonTag"/>: <c>unclean_close</c> | <c>fatal_error</c>.</summary>
    public const string ServerStoreRemovals = "fastsession.server_store.removals";

    /// <summary>Observable up-down counter: live <c>SSL_CTX</c> objects (<see cref="LiveObjectCounts"/>).</summary>
    public const string LiveContexts = "fastsession.live.contexts";

    /// <summary>Observable up-down counter: live <c>SSL</c> objects.</summary>
    public const string LiveConnections = "fastsession.live.connections";

    /// <summary>Observable up-down counter: live <c>SSL_SESSION</c> objects.</summary>
    public const string LiveSessions = "fastsession.live.sessions";

    /// <summary>Observable up-down counter: live <c>X509</c> objects.</summary>
    public const string LiveCertificates = "fastsession.live.certificates";

    /// <summary><c>1.2</c> or <c>1.3</c> (OpenTelemetry <c>tls.protocol.version</c>).</summary>
    public const string ProtocolVersionTag = "tls.protocol.version";

    /// <summary>true when the handshake resumed a session (OpenTelemetry <c>tls.resumed</c>).</summary>
    public const string ResumedTag = "tls.resumed";

    /// <summary><c>client</c> or <c>server</c>.</summary>
    public const string SideTag = "tls.side";

    /// <summary>Why a handshake failed: OpenSSL's reason (<c>certificate verify failed</c>, <c>peer_closed</c>, ...).</summary>
    public const string ErrorTypeTag = "error.type";

    /// <summary>The <see cref="SslResumptionOutcome"/> as <see cref="SslResumptionOutcomeNames.ToTagValue"/> names it.</summary>
    public const string ResumptionOutcomeTag = "fastsession.resumption.outcome";

    /// <summary>Ticket decrypt status of <see cref="TicketDecryptions"/>.</summary>
    public const string TicketStatusTag = "fastsession.ticket.status";

    /// <summary>Why a session was invalidated (<see cref="SessionsInvalidated"/>).</summary>
    public const string InvalidationReasonTag = "fastsession.invalidation.reason";

    /// <summary>The server store call that failed (<see cref="ServerStoreErrors"/>): <c>get</c>, <c>add</c> or <c>remove</c>.</summary>
    public const string ServerStoreOperationTag = "fastsession.server_store.operation";

    /// <summary>Why the cache refused or dropped a session.</summary>
    public const string CacheRejectionTag = "fastsession.cache.reason";
}
