using System;
using System.Diagnostics;
using FastSession.Interop;

namespace FastSession;

// Why a handshake resumed or not, and the metrics of each handshake (FastSessionMetrics). The engine
// (SslConnection.cs) calls these hooks, each marked "// observe" there; everything here runs after the
// native call returned, with the connection's gate held by the calling thread.
public sealed partial class SslConnection
{
    private long _handshakeStartTimestamp;
    private bool _handshakeObserved;
    private bool _closeObserved;
    private SslResumptionOutcome _outcome;
    // Client: why nothing was offered (set by the cache or a refused SetSession), or what was offered.
    private SslResumptionOutcome _notOfferedReason = SslResumptionOutcome.NotOffered;
    private bool _offered;
    private bool _offeredExpired;
    private TlsVersion _offeredProtocol;
    private ushort _offeredCipher;

    /// <summary>
    /// Whether the last handshake resumed a session and, if not, why (<see cref="SslResumptionOutcome"/>):
    /// <see cref="SslResumptionOutcome.Unknown"/> until a handshake completes or fails. Computed once, when the
    /// handshake ends, from what was offered (<see cref="SetSession"/>, <see cref="SslClientSessionCache.TryTakeFor"/>),
    /// <c>SSL_session_reused</c>, <c>SSL_version</c> and, on servers, the ticket decrypt status the shim recorded
    /// (<c>SSL_CTX_set_session_ticket_cb</c>). Cleared by <see cref="Reset"/>. Reading it never allocates or calls OpenSSL.
    /// </summary>
    public SslResumptionOutcome ResumptionOutcome => _outcome;

    /// <summary>Records why a client connection offers no session (the cache's miss reason, or a refused <see cref="SetSession"/>).</summary>
    internal void NoteNotOffered(SslResumptionOutcome reason)
    {
        if (!_offered)
        {
            _notOfferedReason = reason;
        }
    }

    private void ObserveHandshakeStart()
    {
        if (_handshakeStartTimestamp == 0 && !_handshakeObserved)
        {
            _handshakeStartTimestamp = Stopwatch.GetTimestamp();
        }
    }

    private SslIoResult ObserveHandshake(SslIoResult result)
    {
        if (_handshakeObserved)
        {
            return result;
        }
        if (result.Status == SslStatus.Completed && _handshakeComplete)
        {
            _handshakeObserved = true;
            bool reused = ConnectionNative.SslSessionReused(this) != 0;
            TlsVersion protocol = (TlsVersion)ConnectionNative.SslVersion(this);
            _outcome = reused ? SslResumptionOutcome.Resumed : IsServer ? ServerNotResumedReason() : ClientNotResumedReason(protocol);
            FastSessionMetrics.RecordHandshake(IsServer, protocol, _outcome, _handshakeStartTimestamp, errorType: null);
        }
        else if (result.Status is SslStatus.Failed or SslStatus.Closed)
        {
            _handshakeObserved = true;
            _outcome = SslResumptionOutcome.HandshakeFailed;
            FastSessionMetrics.RecordHandshake(IsServer, TlsVersion.None, _outcome, _handshakeStartTimestamp, ErrorType(result));
        }
        return result;
    }

    private SslResumptionOutcome ClientNotResumedReason(TlsVersion negotiated)
    {
        if (!_offered)
        {
            return _notOfferedReason;
        }
        if (negotiated != _offeredProtocol)
        {
            return SslResumptionOutcome.VersionOrCipherMismatch;
        }
        if (_offeredExpired)
        {
            return SslResumptionOutcome.OfferedExpired;
        }
        if (negotiated == TlsVersion.Tls13)
        {
            // A TLS 1.3 PSK only resumes under a suite with the same hash: another suite means it could not be used.
            SslSessionRef current = SessionNative.SslGet0Session(this);
            if (!current.IsEmpty)
            {
                current.GetInfo(out SslSessionInfo info);
                if (info.CipherSuite != _offeredCipher)
                {
                    return SslResumptionOutcome.VersionOrCipherMismatch;
                }
            }
        }
        return SslResumptionOutcome.ServerDeclined;
    }

    private SslResumptionOutcome ServerNotResumedReason()
    {
        // The session store's answer, when there was a lookup: OpenSSL does not report an unknown session id.
        if (_storeLookup is StoreLookup.Missed or StoreLookup.Failed)
        {
            return _storeLookup == StoreLookup.Failed ? SslResumptionOutcome.StoreUnavailable : SslResumptionOutcome.CacheMiss;
        }
        if (ObserveNative.SslGetResumptionInfo(this, out FsResumptionInfo info) != ShimConstants.Ok)
        {
            return SslResumptionOutcome.NotOffered;
        }
        return info.TicketStatus switch
        {
            ShimTicketStatus.NotDecrypted => SslResumptionOutcome.TicketNotDecrypted,
            ShimTicketStatus.Decrypted or ShimTicketStatus.DecryptedRenew =>
                info.TicketExpired != 0 ? SslResumptionOutcome.OfferedExpired : SslResumptionOutcome.TicketDeclined,
            _ => SslResumptionOutcome.NotOffered,
        };
    }

    // Failure path only: allocating the reason text is fine here (the fault message allocates already).
    private static string ErrorType(SslIoResult result)
    {
        if (result.Status == SslStatus.Closed)
        {
            return "peer_closed";
        }
        if (result.OpenSslError == 0)
        {
            return "peer_closed"; // SSL_ERROR_SYSCALL with an empty queue: EOF without close_notify
        }
        string text = OpenSslError.Describe(result.OpenSslError);
        int colon = text.LastIndexOf(':');
        return colon >= 0 && colon + 1 < text.Length ? text[(colon + 1)..] : text;
    }

    private void RecordOffer(SslSession session)
    {
        session.GetInfo(out SslSessionInfo info);
        _offered = true;
        _offeredProtocol = info.Protocol;
        _offeredCipher = info.CipherSuite;
        // A ticket also expires with its lifetime hint (RFC 5077 / RFC 8446 4.6.1), whatever the session's timeout says.
        DateTimeOffset now = DateTimeOffset.UtcNow;
        // Imported sessions may carry any time at all: no arithmetic past DateTimeOffset's range.
        _offeredExpired = info.ExpiresAt <= now
            || (info.TicketLifetimeHint > 0 && info.Time < DateTimeOffset.MaxValue.AddSeconds(-info.TicketLifetimeHint)
                && info.Time.AddSeconds(info.TicketLifetimeHint) <= now);
    }

    private void RecordRefusedOffer(SslResumptionOutcome reason)
    {
        _offered = false;
        _notOfferedReason = reason;
    }

    // Reset and Dispose: a connection that completed its handshake and is closed without close_notify loses its
    // session (SSL_free / SSL_clear remove it from the cache and mark it non-resumable, S8). On Reset the next
    // connection on this object starts clean; after Dispose the outcome stays readable.
    private void ObserveClose(bool reuse)
    {
        bool uncleanClose = false;
        if (_handshakeComplete && !_closeObserved)
        {
            _closeObserved = true;
            if (_fault is not null)
            {
                FastSessionMetrics.RecordInvalidated(IsServer, fatalError: true);
            }
            else if ((ConnectionNative.SslGetShutdown(this) & 1) == 0)
            {
                uncleanClose = true;
                FastSessionMetrics.RecordInvalidated(IsServer, fatalError: false);
            }
        }
        // A server session store is not reached by OpenSSL's removal (S8): fleet (SslConnection.ServerCache.cs).
        EndServerStoreTrail(fatalError: _fault is not null, uncleanClose);
        if (!reuse)
        {
            return;
        }
        _handshakeStartTimestamp = 0;
        _handshakeObserved = false;
        _closeObserved = false;
        _outcome = SslResumptionOutcome.Unknown;
        _notOfferedReason = SslResumptionOutcome.NotOffered;
        _offered = false;
        _storeLookup = StoreLookup.None;
    }
}
