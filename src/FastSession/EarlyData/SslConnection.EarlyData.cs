using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Interop;

namespace FastSession;

public sealed partial class SslConnection
{
    // Client: WriteEarlyData ran (the handshake started with it); why nothing could be sent, when so.
    private bool _earlyDataWriting;
    private SslEarlyDataReason _earlyDataSendRefusal;
    // Server: ReadEarlyData ran; SSL_READ_EARLY_DATA_FINISH was seen (the handshake goes on with Handshake).
    private bool _earlyDataReading;
    private bool _earlyDataFinished;

    // The context pauses after the ClientHello for a decision (a policy or a replay guard is set).
    private bool EarlyDataDecides => Context.EarlyDataPolicy is not null || Context.EarlyDataReplayGuard is not null;

    /// <summary>What happened to this connection's early data (<c>SSL_get_early_data_status</c>); final once the handshake completed.</summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public SslEarlyDataStatus EarlyDataStatus
    {
        get
        {
            FsEarlyDataInfo info = ReadEarlyDataInfo();
            return (SslEarlyDataStatus)info.Status;
        }
    }

    /// <summary>
    /// Why early data was not sent or not accepted (<see cref="SslEarlyDataReason.None"/> when accepted), from the shim's record of
    /// the decision, <c>SSL_get_early_data_status</c>, <c>SSL_session_reused</c> and <c>SSL_SESSION_get_max_early_data</c>. A client
    /// cannot see the server's reason: a refused resumed connection is <see cref="SslEarlyDataReason.PeerDeclined"/>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public SslEarlyDataReason EarlyDataReason => Explain(ReadEarlyDataInfo());

    /// <summary>
    /// Client: how many more bytes of early data the session set with <see cref="SetSession"/> allows
    /// (<c>SSL_SESSION_get_max_early_data</c> minus what was written); 0 without a TLS 1.3 session that allows early data, or once
    /// the handshake went past the ClientHello without early data.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public int MaxEarlyDataToSend
    {
        get
        {
            FsEarlyDataInfo info = ReadEarlyDataInfo();
            if (IsServer || info.HasSession == 0 || _handshakeComplete || (_handshakeStarted && !_earlyDataWriting))
            {
                return 0;
            }
            long left = (long)info.SessionMaxEarlyData - info.Offered;
            return left <= 0 ? 0 : (int)Math.Min(int.MaxValue, left);
        }
    }

    /// <summary>Server: whether <see cref="ReadEarlyData"/> saw the end of the early data (<c>SSL_READ_EARLY_DATA_FINISH</c>): go on with <see cref="Handshake"/>.</summary>
    public bool IsEarlyDataFinished => _earlyDataFinished;

    /// <summary>
    /// Server: whether the handshake paused for an early-data decision that needs the asynchronous replay guard
    /// (<see cref="SslStatus.NeedsSessionLookup"/> from <see cref="ReadEarlyData"/>): answer with <see cref="DecideEarlyData"/>.
    /// </summary>
    public bool IsEarlyDataDecisionPending => ReadEarlyDataInfo().Decision == EarlyDataNative.DecisionPending;

    /// <summary>
    /// Client, before the handshake: writes the ClientHello and <paramref name="plaintext"/> as TLS 1.3 early data in the same flight
    /// (<c>SSL_write_early_data</c>), at most what the session allows (<see cref="MaxEarlyDataToSend"/>):
    /// <see cref="SslIoResult.PlaintextBytes"/> says how much was taken. Nothing is sent (0 bytes, no output) without a session that
    /// allows early data: then run <see cref="Handshake"/> as usual. Continue with <see cref="Handshake"/>; a rejected early write
    /// (<see cref="EarlyDataStatus"/>) must be written again after the handshake (<see cref="FastSslStream"/> does).
    /// </summary>
    /// <exception cref="InvalidOperationException">A server connection, a context without <see cref="SslContextOptions.DangerousEnableReplayableEarlyData"/>,
    /// a handshake already started by another call, or another thread is using the connection.</exception>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public SslIoResult WriteEarlyData(ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        if (IsServer)
        {
            throw new InvalidOperationException("WriteEarlyData is for clients; a server reads early data with ReadEarlyData.");
        }
        RequireEarlyDataEnabled();
        if (_handshakeStarted && !_earlyDataWriting)
        {
            throw new InvalidOperationException("WriteEarlyData must come before the handshake starts (it writes the ClientHello).");
        }
        using ExclusiveScope _ = Exclusive(Access.ChangesSession);
        EarlyDataNative.SslGetEarlyDataInfo(this, out FsEarlyDataInfo before);
        _handshakeStarted = true;
        _earlyDataWriting = true;
        ObserveHandshakeStart();
        int sent = EarlyDataNative.SslWriteEarlyData(this, plaintext, plaintext.Length, output, output.Length, out FsIoResult result);
        if (sent == 0 && result.Ret > 0 && _earlyDataSendRefusal == SslEarlyDataReason.None && before.Offered == 0)
        {
            _earlyDataSendRefusal = before.HasSession == 0 ? SslEarlyDataReason.NoSession : SslEarlyDataReason.TicketWithoutEarlyData;
        }
        return Finish(SslOperation.Handshake, in result);
    }

    /// <summary>
    /// Server: whether early data was read and the handshake is not complete yet (the client's Finished has not arrived): writes
    /// go through <see cref="WriteHalfRtt"/> (0.5-RTT data), not <see cref="Write"/> (<c>SSL_get_early_data_status</c>, and the
    /// handshake's completion as <c>SSL_do_handshake</c> reported it).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public bool IsInHalfRtt => IsServer && _earlyDataReading && !_handshakeComplete && ReadEarlyDataInfo().Status == (int)SslEarlyDataStatus.Accepted;

    /// <summary>
    /// Server, while <see cref="IsInHalfRtt"/>: encrypts <paramref name="plaintext"/> as 0.5-RTT data (<c>SSL_write_early_data</c> on a
    /// server): it leaves after the server's Finished and before the client's, so an early request is answered one round trip sooner.
    /// The client is authenticated only by the ticket it resumed (its Finished has not been checked yet); FastSslStream uses this for
    /// the answer to accepted early data. Continue the handshake with <see cref="ReadEarlyData"/> and <see cref="Handshake"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not a server connection in 0.5-RTT (<see cref="IsInHalfRtt"/>), or another thread is using the connection.</exception>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public SslIoResult WriteHalfRtt(ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        if (!IsInHalfRtt)
        {
            throw new InvalidOperationException("WriteHalfRtt is for a server that accepted early data and has not completed the handshake; use Write.");
        }
        using ExclusiveScope _ = Exclusive(Access.ChangesSession);
        EarlyDataNative.SslWriteEarlyData(this, plaintext, plaintext.Length, output, output.Length, out FsIoResult result);
        return Finish(SslOperation.Write, in result);
    }

    /// <summary>
    /// Server, instead of <see cref="Handshake"/> until <see cref="IsEarlyDataFinished"/>: feeds <paramref name="input"/>, runs the
    /// handshake (<c>SSL_read_early_data</c>) and decrypts early data into <paramref name="plaintext"/> before the handshake completes.
    /// <see cref="SslStatus.Completed"/> with <see cref="SslIoResult.PlaintextBytes"/>: early data read (call again);
    /// <see cref="IsEarlyDataFinished"/>: no more early data, continue with <see cref="Handshake"/> (no input lost: it stays in the engine);
    /// <see cref="SslStatus.NeedsInput"/>: send the output, feed more; <see cref="SslStatus.NeedsSessionLookup"/>: the decision waits for
    /// <see cref="DecideEarlyData"/> (a replay guard) or a session store. A policy without a guard is evaluated here, outside OpenSSL.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="plaintext"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">A client connection, early data not enabled, the early-data phase is over or the handshake was
    /// started by another call, or another thread is using the connection.</exception>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public SslIoResult ReadEarlyData(ReadOnlySpan<byte> input, Span<byte> plaintext, Span<byte> output)
    {
        if (!IsServer)
        {
            throw new InvalidOperationException("ReadEarlyData is for servers; a client sends early data with WriteEarlyData.");
        }
        // Documented, and needed: SSL_read_early_data would run on a context without early data and leave the connection in a state
        // SSL_clear does not reset (Reset would then refuse it).
        RequireEarlyDataEnabled();
        if (plaintext.IsEmpty)
        {
            throw new ArgumentException("Early data needs room to be read into.", nameof(plaintext));
        }
        if (_earlyDataFinished || (_handshakeStarted && !_earlyDataReading))
        {
            throw new InvalidOperationException("The early-data phase is over (or the handshake was started with Handshake): continue with Handshake.");
        }
        using ExclusiveScope _ = Exclusive(Access.ChangesSession);
        _handshakeStarted = true;
        _earlyDataReading = true;
        ObserveHandshakeStart();
        int status = EarlyDataNative.SslReadEarlyData(this, input, input.Length, plaintext, plaintext.Length, output, output.Length, out FsIoResult result);
        // A policy alone is synchronous: decide here, after OpenSSL returned, and go on in the same call.
        while (status == EarlyDataNative.ReadError && result.SslError == ServerCacheNative.SslErrorWantClientHelloCb &&
               Context.EarlyDataReplayGuard is null && DecisionPending())
        {
            bool allow = EvaluatePolicy();
            if (DecisionPending()) // the policy may have answered itself (DecideEarlyData on its connection): that answer stands
            {
                SetDecision(allow, SslEarlyDataReason.RejectedByPolicy);
            }
            int consumed = result.BytesConsumed, produced = result.BytesProduced, read = result.PlaintextBytes, sessions = result.NewSessions;
            Span<byte> rest = Rest(output, produced);
            Span<byte> more = Rest(plaintext, read);
            status = EarlyDataNative.SslReadEarlyData(this, default, 0, more, more.Length, rest, rest.Length, out result);
            result.BytesConsumed = consumed;
            result.BytesProduced += produced;
            result.PlaintextBytes += read;
            result.NewSessions += sessions;
        }
        if (status == EarlyDataNative.ReadFinish)
        {
            _earlyDataFinished = true;
        }
        return Finish(SslOperation.Handshake, in result);
    }

    /// <summary>
    /// Server: answers a paused early-data decision (<see cref="IsEarlyDataDecisionPending"/>); the next <see cref="ReadEarlyData"/>
    /// goes on. <paramref name="allow"/> false rejects the early data (the handshake continues as 1-RTT) with
    /// <paramref name="reason"/> reported by <see cref="EarlyDataReason"/>. Allowing still leaves OpenSSL's own checks (ticket age, ALPN).
    /// </summary>
    /// <exception cref="InvalidOperationException">No decision is pending, or another thread is using the connection.</exception>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public void DecideEarlyData(bool allow, SslEarlyDataReason reason = SslEarlyDataReason.RejectedByPolicy)
    {
        using ExclusiveScope _ = Exclusive(Access.Exclusive);
        if (!DecisionPending())
        {
            throw new InvalidOperationException("No early-data decision is pending on this connection.");
        }
        SetDecision(allow, reason);
    }

    // FastSslStream: the policy, then the replay guard (bounded by its timeout), outside OpenSSL. A guard failure rejects.
    internal async ValueTask DecideEarlyDataAsync(CancellationToken cancellationToken)
    {
        FsEarlyDataInfo info = ReadEarlyDataInfo();
        if (info.Decision != EarlyDataNative.DecisionPending)
        {
            return;
        }
        if (!EvaluatePolicy())
        {
            DecideIfStillPending(false, SslEarlyDataReason.RejectedByPolicy);
            return;
        }
        ISslEarlyDataReplayGuard? guard = Context.EarlyDataReplayGuard;
        if (guard is null || info.IdentityLength != EarlyDataNative.IdentityHashLength)
        {
            DecideIfStillPending(guard is null, SslEarlyDataReason.NotEligible);
            return;
        }
        byte[] hash = TicketHash(in info);
        SslEarlyDataReason refusal;
        try
        {
            Task<bool> claim = guard.TryClaimAsync(hash, Context.EarlyDataTicketLifetime, cancellationToken).AsTask();
            bool first = await claim.WaitAsync(Context.EarlyDataReplayGuardTimeout, cancellationToken).ConfigureAwait(false);
            refusal = first ? SslEarlyDataReason.None : SslEarlyDataReason.Replayed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            // A store outage or a timeout never accepts early data blindly: 1-RTT instead.
            refusal = SslEarlyDataReason.ReplayGuardUnavailable;
        }
        DecideIfStillPending(refusal == SslEarlyDataReason.None, refusal);
    }

    // The policy (user code handed this connection) or another thread may have answered with DecideEarlyData meanwhile: the first
    // answer stands, and the handshake goes on instead of failing with "no decision is pending".
    private void DecideIfStillPending(bool allow, SslEarlyDataReason reason)
    {
        using ExclusiveScope _ = Exclusive(Access.Exclusive);
        if (DecisionPending())
        {
            SetDecision(allow, reason);
        }
    }

    // Run (Handshake) paused at the ClientHello for an early-data decision: a server that drives the handshake with Handshake
    // never reads early data (OpenSSL then rejects it), so the answer is no, and the handshake goes on in the same call.
    internal void DeclineEarlyDataInHandshake(ref FsIoResult result, Span<byte> output)
    {
        int consumed = result.BytesConsumed, produced = result.BytesProduced, sessions = result.NewSessions;
        while (result.SslError == ServerCacheNative.SslErrorWantClientHelloCb && result.Ret <= 0 && DecisionPending())
        {
            SetDecision(false, SslEarlyDataReason.NotEligible);
            Span<byte> rest = Rest(output, produced);
            ConnectionNative.SslDoHandshake(this, default, 0, rest, rest.Length, out FsIoResult next);
            produced += next.BytesProduced;
            sessions += next.NewSessions;
            result = next;
        }
        result.BytesConsumed = consumed;
        result.BytesProduced = produced;
        result.NewSessions = sessions;
    }

    private static byte[] TicketHash(in FsEarlyDataInfo info)
    {
        ReadOnlySpan<byte> hash = info.IdentityHash;
        return hash[..EarlyDataNative.IdentityHashLength].ToArray();
    }

    // SSL_clear (OpenSSL 3.0) leaves SSL's early_data_state as it was: SSL_read_early_data / SSL_write_early_data would then
    // fail with "called a function you should not call", and the handshake state machine would read a stale state.
    internal bool UsedEarlyData => _earlyDataReading || _earlyDataWriting;

    private void ThrowIfEarlyDataUsed()
    {
        if (UsedEarlyData)
        {
            throw new InvalidOperationException("This connection ran TLS 1.3 early data, a state SSL_clear does not reset: dispose it and create a new connection.");
        }
    }

    // FastSslStream: early data was wanted but the session allows none (nothing is written early).
    internal void NoteEarlyDataNotSendable()
    {
        FsEarlyDataInfo info = ReadEarlyDataInfo();
        if (_earlyDataSendRefusal == SslEarlyDataReason.None && info.Offered == 0)
        {
            _earlyDataSendRefusal = info.HasSession == 0 ? SslEarlyDataReason.NoSession : SslEarlyDataReason.TicketWithoutEarlyData;
        }
    }

    private void ResetEarlyData()
    {
        _earlyDataWriting = false;
        _earlyDataSendRefusal = SslEarlyDataReason.None;
        _earlyDataReading = false;
        _earlyDataFinished = false;
    }

    private SslIoResult Finish(SslOperation operation, in FsIoResult result)
    {
        if (result.HandshakeDone != 0)
        {
            _handshakeComplete = true;
        }
        SslIoResult mapped = ObserveHandshake(ExplainFailure(Complete(operation, in result)));
        if (result.NewSessions > 0)
        {
            DeliverNewSessions();
        }
        return mapped;
    }

    private bool EvaluatePolicy()
    {
        SslEarlyDataPolicy? policy = Context.EarlyDataPolicy;
        if (policy is null)
        {
            return true;
        }
        try
        {
            return policy(this);
        }
        catch (Exception)
        {
            return false; // documented: an exception refuses
        }
    }

    private bool DecisionPending()
    {
        EarlyDataNative.SslGetEarlyDataInfo(this, out FsEarlyDataInfo info);
        return info.Decision == EarlyDataNative.DecisionPending;
    }

    private void SetDecision(bool allow, SslEarlyDataReason reason)
    {
        if (EarlyDataNative.SslSetEarlyDataDecision(this, allow ? 1 : 0, (int)reason) != ShimConstants.Ok)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("no early-data decision is pending on this connection"));
        }
    }

    private void RequireEarlyDataEnabled()
    {
        if (!Context.EarlyDataEnabled)
        {
            throw new InvalidOperationException("Early data is off on this context: set DangerousEnableReplayableEarlyData (and read README, \"0-RTT\").");
        }
    }

    private FsEarlyDataInfo ReadEarlyDataInfo()
    {
        EnsureEarlyDataLayout();
        FsEarlyDataInfo info;
        using (Reader())
        {
            EarlyDataNative.SslGetEarlyDataInfo(this, out info);
        }
        return info;
    }

    private SslEarlyDataReason Explain(in FsEarlyDataInfo info)
    {
        var status = (SslEarlyDataStatus)info.Status;
        if (status == SslEarlyDataStatus.Accepted)
        {
            return SslEarlyDataReason.None;
        }
        if (!IsServer)
        {
            if (info.Offered == 0)
            {
                return _earlyDataSendRefusal != SslEarlyDataReason.None ? _earlyDataSendRefusal : SslEarlyDataReason.NotOffered;
            }
            return !_handshakeComplete ? SslEarlyDataReason.None
                : info.Reused == 0 ? SslEarlyDataReason.SessionNotResumed : SslEarlyDataReason.PeerDeclined;
        }
        if (status == SslEarlyDataStatus.NotSent)
        {
            return info.Decision == EarlyDataNative.DecisionNone || info.Decision == EarlyDataNative.DecisionNotOffered || _handshakeComplete
                ? SslEarlyDataReason.NotOffered : SslEarlyDataReason.None;
        }
        if (info.Decision == EarlyDataNative.DecisionDeny && Enum.IsDefined((SslEarlyDataReason)info.DenyReason))
        {
            return (SslEarlyDataReason)info.DenyReason;
        }
        return !Context.EarlyDataEnabled || info.MaxEarlyData == 0 ? SslEarlyDataReason.Disabled
            : info.Reused == 0 ? SslEarlyDataReason.SessionNotResumed
            : info.SessionMaxEarlyData == 0 ? SslEarlyDataReason.TicketWithoutEarlyData
            : SslEarlyDataReason.NotEligible;
    }

    private static int s_earlyDataLayoutVerified;

    private static void EnsureEarlyDataLayout()
    {
        if (Volatile.Read(ref s_earlyDataLayoutVerified) != 0)
        {
            return;
        }
        int native = EarlyDataNative.GetEarlyDataInfoSize();
        if (native != Unsafe.SizeOf<FsEarlyDataInfo>() || native != EarlyDataNative.InfoSize)
        {
            throw new InvalidOperationException($"libfastsession_shim.so does not match this FastSession build: fs_early_data_info is {native} bytes natively and {Unsafe.SizeOf<FsEarlyDataInfo>()} in managed code. Rebuild the solution.");
        }
        Volatile.Write(ref s_earlyDataLayoutVerified, 1);
    }
}
