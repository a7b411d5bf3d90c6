using System;

namespace FastSession;

/// <summary>
/// Whether a connection's handshake resumed a session and, when it did not, why
/// (<see cref="SslConnection.ResumptionOutcome"/>; the <c>fastsession.resumption.outcome</c> tag of the
/// <c>fastsession.tls.handshakes</c> counter). A client tells a session it never offered
/// (<see cref="NotOffered"/>, <see cref="CacheMiss"/>, <see cref="CacheExpired"/>, <see cref="NotResumable"/>,
/// <see cref="OtherContext"/>) from one it offered and the server declined (<see cref="OfferedExpired"/>,
/// <see cref="VersionOrCipherMismatch"/>, <see cref="ServerDeclined"/>); a server tells a ticket it could not
/// decrypt (<see cref="TicketNotDecrypted"/>) from one it decrypted and did not accept (<see cref="TicketDeclined"/>,
/// <see cref="OfferedExpired"/>).
/// </summary>
public enum SslResumptionOutcome
{
    /// <summary>No handshake has completed on this connection yet.</summary>
    Unknown = 0,

    /// <summary>The handshake resumed a session (<c>SSL_session_reused</c>).</summary>
    Resumed,

    /// <summary>
    /// Client: no session was offered (no <see cref="SslConnection.SetSession"/>). Server: the client presented no
    /// ticket (a TLS 1.2 session id the server cache no longer holds also ends here: OpenSSL does not report it).
    /// </summary>
    NotOffered,

    /// <summary>
    /// Client: the <see cref="SslClientSessionCache"/> held no session for the connection's key. Server with a session
    /// store (<see cref="SslContext.UseServerSessionStore"/>): the store held no usable session for the offered TLS 1.2 id
    /// or TLS 1.3 stateful ticket (absent, expired, already taken, or bytes that were not that session).
    /// </summary>
    CacheMiss,

    /// <summary>Client: the cache's sessions for the key had all expired (timeout or ticket lifetime hint), so none was offered.</summary>
    CacheExpired,

    /// <summary>
    /// Client: the session was not resumable (<c>SSL_SESSION_is_resumable</c> = 0: taken before its TLS 1.3 ticket,
    /// its connection closed uncleanly or failed), so it was not offered: <see cref="SslConnection.SetSession"/>
    /// refused it, or the cache dropped it.
    /// </summary>
    NotResumable,

    /// <summary>Client: the session belongs to another <see cref="SslContext"/> (S12); <see cref="SslConnection.SetSession"/> refused it.</summary>
    OtherContext,

    /// <summary>
    /// The offered session had expired when it was offered (client: its time + timeout; server: the decrypted
    /// ticket's), so the server ran a full handshake.
    /// </summary>
    OfferedExpired,

    /// <summary>Client: the offered session's protocol version (or TLS 1.3 cipher suite) differs from the one negotiated.</summary>
    VersionOrCipherMismatch,

    /// <summary>
    /// Client: a valid session was offered and the server chose a full handshake (unknown or rotated ticket key,
    /// session evicted from the server's cache, another server behind the same name, SNI or ALPN policy).
    /// </summary>
    ServerDeclined,

    /// <summary>Server: the client's ticket could not be decrypted (unknown or retired ticket key, corrupted ticket).</summary>
    TicketNotDecrypted,

    /// <summary>Server: the ticket was decrypted but not accepted (another protocol version, cipher or session id context).</summary>
    TicketDeclined,

    /// <summary>The handshake failed.</summary>
    HandshakeFailed,

    /// <summary>
    /// Server with a session store (<see cref="SslContext.UseServerSessionStore"/>): the store failed or did not answer
    /// within <see cref="SslContext.ServerSessionLookupTimeout"/>, so the handshake went on as a full one (counted in
    /// <see cref="SslContext.ServerSessionCacheCounters"/> as an error).
    /// </summary>
    StoreUnavailable,
}

/// <summary>Names of <see cref="SslResumptionOutcome"/> values as metric tags and JSON (<c>snake_case</c>, never allocated).</summary>
public static class SslResumptionOutcomeNames
{
    /// <summary>The tag value of <paramref name="outcome"/>: <c>resumed</c>, <c>not_offered</c>, <c>cache_miss</c>, ...</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="outcome"/> is not a defined value.</exception>
    public static string ToTagValue(this SslResumptionOutcome outcome) => outcome switch
    {
        SslResumptionOutcome.Unknown => "unknown",
        SslResumptionOutcome.Resumed => "resumed",
        SslResumptionOutcome.NotOffered => "not_offered",
        SslResumptionOutcome.CacheMiss => "cache_miss",
        SslResumptionOutcome.CacheExpired => "cache_expired",
        SslResumptionOutcome.NotResumable => "not_resumable",
        SslResumptionOutcome.OtherContext => "other_context",
        SslResumptionOutcome.OfferedExpired => "offered_expired",
        SslResumptionOutcome.VersionOrCipherMismatch => "version_or_cipher_mismatch",
        SslResumptionOutcome.ServerDeclined => "server_declined",
        SslResumptionOutcome.TicketNotDecrypted => "ticket_not_decrypted",
        SslResumptionOutcome.TicketDeclined => "ticket_declined",
        SslResumptionOutcome.HandshakeFailed => "handshake_failed",
        SslResumptionOutcome.StoreUnavailable => "store_unavailable",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Not an SslResumptionOutcome value."),
    };
}
