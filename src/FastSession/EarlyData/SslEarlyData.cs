using System;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession;

/// <summary>What happened to a connection's TLS 1.3 early data (<c>SSL_get_early_data_status</c>).</summary>
public enum SslEarlyDataStatus
{
    /// <summary>No early data was sent (client) or offered (server): <c>SSL_EARLY_DATA_NOT_SENT</c>.</summary>
    NotSent = 0,
    /// <summary>Early data was sent and the server did not take it (<c>SSL_EARLY_DATA_REJECTED</c>); the handshake went on as 1-RTT.
    /// <see cref="FastSslStream"/> resends the data after the handshake.</summary>
    Rejected = 1,
    /// <summary>The server read the early data (<c>SSL_EARLY_DATA_ACCEPTED</c>). It may be a replay unless the server's
    /// replay protection says otherwise (README, "0-RTT").</summary>
    Accepted = 2,
}

/// <summary>Why early data was not sent or not accepted (BoringSSL's <c>SSL_get_early_data_reason</c>, from what this side can know).</summary>
public enum SslEarlyDataReason
{
    /// <summary>Accepted, or the handshake has not got that far.</summary>
    None,
    /// <summary>Client: no early data was written on this connection; server: the ClientHello carried none.</summary>
    NotOffered,
    /// <summary>Client: no resumable TLS 1.3 session was set, so there is no key to encrypt early data with.</summary>
    NoSession,
    /// <summary>The session's ticket does not allow early data (<c>SSL_SESSION_get_max_early_data</c> is 0): the server did not enable it when it issued the ticket.</summary>
    TicketWithoutEarlyData,
    /// <summary>The session was not resumed (full handshake): unknown, expired or already used ticket (OpenSSL's in-process single use), other key.</summary>
    SessionNotResumed,
    /// <summary>Server: resumed, but OpenSSL's own checks refused: ticket age outside its freshness window, ALPN, SNI or cipher differs, HelloRetryRequest.</summary>
    NotEligible,
    /// <summary>Server: early data is not enabled on this server context (<see cref="SslContextOptions.DangerousEnableReplayableEarlyData"/>).</summary>
    Disabled,
    /// <summary>Server: <see cref="SslServerOptions.EarlyDataPolicy"/> said no.</summary>
    RejectedByPolicy,
    /// <summary>Server: the replay guard has seen this ticket's early data before (a replay, or a retry of a rejected attempt).</summary>
    Replayed,
    /// <summary>Server: the replay guard failed or timed out; early data is then rejected, never accepted blindly.</summary>
    ReplayGuardUnavailable,
    /// <summary>Client: the session was resumed but the server refused the early data (its policy, replay protection or checks).</summary>
    PeerDeclined,
}

/// <summary>
/// Server: decides whether a resumed connection's early data may be accepted (OpenSSL's <c>SSL_CTX_set_allow_early_data_cb</c>,
/// evaluated outside OpenSSL: the handshake pauses after the ClientHello, this runs, the handshake goes on). Nothing of the
/// early data has been decrypted yet; <paramref name="connection"/> can be read (e.g. <see cref="SslConnection.IsServer"/>).
/// Return false to refuse: the client then sends the data again after the handshake (1-RTT).
/// </summary>
public delegate bool SslEarlyDataPolicy(SslConnection connection);

/// <summary>
/// Fleet-wide anti-replay for early data: a ticket's early data is accepted at most once across every server sharing the
/// guard. <see cref="TryClaimAsync"/> must be atomic (one caller wins per key) and remember the key for at least
/// the lifetime it is given (the ticket's lifetime: after it the ticket is refused anyway).
/// </summary>
public interface ISslEarlyDataReplayGuard
{
    /// <summary>
    /// Claims <paramref name="ticketHash"/> (SHA-256 of the ticket the client offered). True: first use, accept the early data;
    /// false: seen before, reject it. An exception or a timeout rejects the early data (the handshake goes on as 1-RTT).
    /// </summary>
    ValueTask<bool> TryClaimAsync(ReadOnlyMemory<byte> ticketHash, TimeSpan lifetime, CancellationToken cancellationToken);
}
