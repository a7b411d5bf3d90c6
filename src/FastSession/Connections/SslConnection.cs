using System;
using System.Threading;
using FastSession.Interop;

namespace FastSession;

/// <summary>
/// One OpenSSL <c>SSL</c> over two memory BIOs: a non-blocking TLS engine that the caller feeds with
/// ciphertext and drains, one native transition per flight. Owns the connection's sessions' lifetimes
/// as the manual page describes them: a borrowed <see cref="SslSessionRef"/> (<c>SSL_get0_session</c>)
/// is valid only until the next call that may change the session, which this class tracks as an epoch.
/// </summary>
/// <remarks>
/// Like <c>SslStream</c>, a connection is driven by one thread at a time: engine calls, <see cref="Reset"/>,
/// <see cref="SetSession"/> and <see cref="Dispose"/> on a second thread while one runs throw
/// <see cref="InvalidOperationException"/>. Reads (getters, borrowed views) may run on any thread: each takes a
/// reader lease that the calls above wait out, so a view never reads freed memory (SslConnection.Gate.cs).
/// </remarks>
[ShimHandleOwner]
public sealed partial class SslConnection : IDisposable
{
    private nint _ssl;
    // Bumped by every exclusive scope that may change or free SSL's session (S1, S10): engine calls,
    // SetSession, Reset, Dispose. Borrowed views compare it inside their reader lease on every access.
    private ulong _epoch = 1;
    private string? _fault;
    private bool _handshakeComplete;
    private bool _handshakeStarted;

    internal SslConnection(SslContext context, string? serverName)
    {
        Context = context;
        IsServer = context.IsServer;
        ServerName = serverName;
        if (serverName is not null && context.IsServer)
        {
            throw new ArgumentException("A server connection takes no server name; SNI is sent by clients.", nameof(serverName));
        }
        _ssl = ConnectionNative.SslCreate(context, serverName);
        if (_ssl == 0)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("SSL_new"));
        }
    }

    /// <summary>Frees the <c>SSL</c> of a connection that was never disposed (an unclean close, S8).</summary>
    ~SslConnection()
    {
        nint ssl = Interlocked.Exchange(ref _ssl, 0);
        if (ssl != 0)
        {
            ConnectionNative.SslFree(ssl);
        }
    }

    /// <summary>The context this connection was created from; its sessions are bound to it (S12).</summary>
    public SslContext Context { get; }

    /// <summary>Whether this is the server side.</summary>
    public bool IsServer { get; }

    /// <summary>The SNI this client sends (<c>SSL_set_tlsext_host_name</c>), or null.</summary>
    public string? ServerName { get; private set; }

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _ssl) == 0;

    /// <summary>Where this client's sessions belong in a <see cref="SslClientSessionCache"/> (host, port, ALPN); null keeps them out.</summary>
    public SslSessionCacheKey? CacheKey { get; set; }

    /// <summary>Whether the handshake has completed (<c>SSL_is_init_finished</c>).</summary>
    public bool IsHandshakeComplete => _handshakeComplete;

    /// <summary>Whether a fatal error ended the connection; further I/O throws.</summary>
    public bool IsFaulted => _fault is not null;

    /// <summary>Whether the last handshake resumed a session instead of a full handshake (<c>SSL_session_reused</c>).</summary>
    public bool SessionReused
    {
        get
        {
            using ReaderScope _ = Reader();
            return ConnectionNative.SslSessionReused(this) != 0;
        }
    }

    /// <summary>The negotiated protocol (<c>SSL_version</c>), <see cref="TlsVersion.None"/> before the handshake.</summary>
    public TlsVersion Protocol
    {
        get
        {
            using ReaderScope _ = Reader();
            return _handshakeComplete ? (TlsVersion)ConnectionNative.SslVersion(this) : TlsVersion.None;
        }
    }

    /// <summary>Whether this side sent close_notify (<c>SSL_get_shutdown</c> &amp; <c>SSL_SENT_SHUTDOWN</c>).</summary>
    public bool ShutdownSent => (GetShutdownFlags() & 1) != 0;

    /// <summary>Whether the peer's close_notify arrived (<c>SSL_get_shutdown</c> &amp; <c>SSL_RECEIVED_SHUTDOWN</c>).</summary>
    public bool ShutdownReceived => (GetShutdownFlags() & 2) != 0;

    /// <summary>
    /// Sessions the native queue had to drop because <see cref="MaxWaitingSessions"/> were already waiting, since the
    /// connection was created or reset (<c>FastSessionNative_SslGetDroppedSessionCount</c>). With a
    /// <see cref="SslContext.SessionEstablished"/> handler the queue is emptied after every engine call, so this stays 0
    /// unless one peer flight carries more tickets than the bound.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is running an engine call on this connection.</exception>
    public int DroppedSessionCount
    {
        get
        {
            using ReaderScope _ = Reader();
            return ConnectionNative.SslGetDroppedSessionCount(this);
        }
    }

    /// <summary>
    /// How many captured sessions may wait on one connection (<c>FS_NEW_SESSION_QUEUE_MAX</c>): the queue starts at 8 and
    /// grows to this bound, so a flight of thousands of TLS 1.3 tickets reaches the application whole (S6, S7).
    /// </summary>
    public const int MaxWaitingSessions = ShimConstants.NewSessionQueueMax;

    /// <summary>Ciphertext waiting to be sent (the write BIO's pending bytes).</summary>
    public int PendingOutput
    {
        get
        {
            using ReaderScope _ = Reader();
            return ConnectionNative.SslPendingOutput(this);
        }
    }

    internal nint NativeHandle
    {
        get
        {
            nint ssl = _ssl;
            if (ssl == 0)
            {
                ThrowDisposed();
            }
            return ssl;
        }
    }

    internal ulong Epoch => Volatile.Read(ref _epoch);

    /// <summary>The negotiated ALPN protocol (<c>SSL_get0_alpn_selected</c>), or null. Allocates a string.</summary>
    public string? GetApplicationProtocol()
    {
        Span<byte> buffer = stackalloc byte[256];
        int length;
        using (Reader())
        {
            length = ConnectionNative.SslGet0AlpnSelected(this, buffer, buffer.Length);
        }
        return length > 0 ? System.Text.Encoding.ASCII.GetString(buffer[..Math.Min(length, buffer.Length)]) : null;
    }

    // ---- Sessions: the SSL_get_session family ---------------------------------------------------

    /// <summary>
    /// Borrows the connection's current session without taking a reference (<c>SSL_get0_session</c>).
    /// The view cannot leave the stack; it throws <see cref="InvalidOperationException"/> once the connection
    /// runs another engine call, changes its session, resets or is disposed (S1, S10). Returns false, without
    /// allocating, when there is no session (S3).
    /// </summary>
    public bool TryBorrowSession(out SslSessionRef session)
    {
        // The pointer the last exclusive call published, with its epoch, needs no native call and no lease
        // (SslConnection.Borrow.cs); otherwise the generated wrapper reads both under one reader lease.
        if (TryBorrowPublishedSession(out session))
        {
            return true;
        }
        session = SessionNative.SslGet0Session(this);
        return !session.IsEmpty;
    }

    /// <summary>
    /// Takes an owned reference to the current session (<c>SSL_get1_session</c>): it stays valid after the
    /// connection changes or is freed, until disposed (S2). Returns false when there is no session (S3).
    /// In TLS 1.3 a session taken before the server's ticket arrived is not resumable (S5); prefer
    /// <see cref="SslContext.SessionEstablished"/> or <see cref="TryTakeNewSession"/>.
    /// </summary>
    public bool TryAcquireSession(out SslSession session)
    {
        using ReaderScope _ = Reader();
        session = SessionNative.SslGet1Session(this);
        return !session.IsNone;
    }

    /// <summary>
    /// Offers <paramref name="session"/> for resumption on the next handshake (<c>SSL_set_session</c>).
    /// The connection takes its own reference; the caller still owns (and disposes) theirs.
    /// </summary>
    /// <exception cref="ArgumentException">The session is not resumable (S5, S8), or is <c>default</c>.</exception>
    /// <exception cref="SslContextMismatchException">The session belongs to another context (S12).</exception>
    /// <exception cref="ObjectDisposedException">The session or the connection was disposed.</exception>
    public void SetSession(SslSession session)
    {
        if (session.IsNone)
        {
            throw new ArgumentException("The session is default(SslSession); acquire one first.", nameof(session));
        }
        if (IsServer)
        {
            throw new InvalidOperationException("SetSession offers a session for resumption and is for client connections; a server resumes from its cache or tickets.");
        }
        if (_handshakeStarted)
        {
            // SSL_set_session on a live connection would swap its session (and the peer identity it reports).
            throw new InvalidOperationException("SetSession must be called before the handshake starts; call Reset() to reuse this connection for a new one.");
        }
        using ExclusiveScope _ = Exclusive(Access.ChangesSession);
        int status = SessionNative.SslSetSession(this, session);
        // The shim checks both in one transition (context first, then SSL_SESSION_is_resumable); the
        // reason it queued is replaced by these exceptions, so leave OpenSSL's queue clean.
        if (status == ShimConstants.ErrWrongContext)
        {
            ErrorNative.ErrClearError();
            RecordRefusedOffer(SslResumptionOutcome.OtherContext); // SslConnection.Resumption.cs
            throw new SslContextMismatchException(session.ContextId, Context.Id);
        }
        if (status == ShimConstants.ErrNotResumable)
        {
            ErrorNative.ErrClearError();
            RecordRefusedOffer(SslResumptionOutcome.NotResumable);
            throw new ArgumentException(NotResumableMessage, nameof(session));
        }
        if (status != ShimConstants.Ok)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("SSL_set_session"));
        }
        RecordOffer(session);
    }

    /// <summary>
    /// Takes the oldest session captured by the new-session callback (<c>SSL_CTX_sess_set_new_cb</c>) that no
    /// <see cref="SslContext.SessionEstablished"/> handler consumed. Each is owned by the caller (S6, S7).
    /// </summary>
    public bool TryTakeNewSession(out SslSession session)
    {
        nint pointer = 0;
        int count;
        // Sessions captured before a failure are still the caller's to take.
        using (Exclusive(Access.Exclusive | Access.WhenFaulted))
        {
            count = ConnectionNative.SslTakeNewSessions(this, new Span<nint>(ref pointer), 1);
        }
        session = count == 1 ? SslSession.FromOwnedPointer(pointer) : default;
        return count == 1;
    }

    // ---- Peer certificate: the second get0/get1 pair --------------------------------------------

    /// <summary>Borrows the peer's certificate (<c>SSL_get0_peer_certificate</c>); same lifetime rules as <see cref="TryBorrowSession"/>.</summary>
    public bool TryBorrowPeerCertificate(out PeerCertificateRef certificate)
    {
        certificate = CertificateNative.SslGet0PeerCertificate(this);
        return !certificate.IsEmpty;
    }

    /// <summary>Takes an owned reference to the peer's certificate (<c>SSL_get1_peer_certificate</c>).</summary>
    public bool TryAcquirePeerCertificate(out PeerCertificate certificate)
    {
        using ReaderScope _ = Reader();
        certificate = CertificateNative.SslGet1PeerCertificate(this);
        return !certificate.IsNone;
    }

    // ---- The engine: four public calls, one path (Run), one result mapping (Complete) ---------------

    /// <summary>
    /// Runs one handshake flight: feeds <paramref name="input"/> (ciphertext from the peer), calls
    /// <c>SSL_do_handshake</c> and writes what OpenSSL wants sent into <paramref name="output"/>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using the connection, or it failed earlier.</exception>
    public SslIoResult Handshake(ReadOnlySpan<byte> input, Span<byte> output) =>
        Run(SslOperation.Handshake, input, default, default, output);

    /// <summary>
    /// Feeds ciphertext and decrypts into <paramref name="plaintext"/> (<c>SSL_read_ex</c>). Post-handshake
    /// messages (TLS 1.3 tickets, key updates) are processed here; their replies go to <paramref name="output"/>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using the connection, or it failed earlier.</exception>
    public SslIoResult Read(ReadOnlySpan<byte> input, Span<byte> plaintext, Span<byte> output) =>
        Run(SslOperation.Read, input, default, plaintext, output);

    /// <summary>Encrypts <paramref name="plaintext"/> (<c>SSL_write_ex</c>) into <paramref name="output"/>.</summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using the connection, or it failed earlier.</exception>
    public SslIoResult Write(ReadOnlySpan<byte> plaintext, Span<byte> output) =>
        Run(SslOperation.Write, default, plaintext, default, output);

    /// <summary>
    /// Sends close_notify (<c>SSL_shutdown</c>). A clean shutdown before <see cref="Dispose"/> keeps the
    /// session resumable; without it OpenSSL marks the session non-resumable (S8). 0 (ours sent, the peer's
    /// not seen yet) is <see cref="SslStatus.Completed"/>; 1 (both close_notify alerts exchanged) is
    /// <see cref="SslStatus.Closed"/>. Both are a clean close from this side.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using the connection, or it failed earlier.</exception>
    public SslIoResult Shutdown(Span<byte> output) =>
        Run(SslOperation.Shutdown, default, default, default, output);

    /// <summary>
    /// Asks for one more TLS 1.3 session ticket (<c>SSL_new_session_ticket</c>), sent by the next
    /// <see cref="Handshake"/> or <see cref="Write"/> call: a server may hand a client fresh tickets at any time.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Not a TLS 1.3 server connection after its handshake, or another thread is using it.</exception>
    public void QueueSessionTicket()
    {
        using ExclusiveScope _ = Exclusive(Access.Exclusive);
        if (ConnectionNative.SslNewSessionTicket(this) != ShimConstants.Ok)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("SSL_new_session_ticket (a TLS 1.3 server after its handshake)"));
        }
    }

    private SslIoResult Run(SslOperation operation, ReadOnlySpan<byte> input, ReadOnlySpan<byte> plaintextIn, Span<byte> plaintextOut, Span<byte> output)
    {
        using ExclusiveScope _ = Exclusive(Access.ChangesSession);
        // Any engine call starts the handshake (SSL_read/SSL_write implicitly); SetSession is too late after it.
        _handshakeStarted = true;
        ObserveHandshakeStart(); // SslConnection.Resumption.cs: the handshake's start time, once
        FsIoResult result;
        switch (operation)
        {
            case SslOperation.Handshake:
                ConnectionNative.SslDoHandshake(this, input, input.Length, output, output.Length, out result);
                if (result.SslError == ShimConstants.SslErrorWantRetryVerify)
                {
                    ResumePausedVerification(ref result, output); // SslConnection.Security.cs
                }
                if (result.SslError == ServerCacheNative.SslErrorWantClientHelloCb && EarlyDataDecides)
                {
                    DeclineEarlyDataInHandshake(ref result, output); // SslConnection.EarlyData.cs
                }
                break;
            case SslOperation.Read:
                ConnectionNative.SslRead(this, input, input.Length, plaintextOut, plaintextOut.Length, output, output.Length, out result);
                if (result.SslError == ShimConstants.SslErrorWantRetryVerify)
                {
                    ResumeImplicitHandshake(operation, ref result, default, plaintextOut, output); // SslConnection.Security.cs
                }
                break;
            case SslOperation.Write:
                ConnectionNative.SslWrite(this, plaintextIn, plaintextIn.Length, output, output.Length, out result);
                if (result.SslError == ShimConstants.SslErrorWantRetryVerify)
                {
                    ResumeImplicitHandshake(operation, ref result, plaintextIn, default, output); // SslConnection.Security.cs
                }
                break;
            default:
                // Shutdown(output) feeds nothing; Shutdown(input, output) feeds the peer's bytes first.
                ServerNative.SslShutdownWithInput(this, input, input.Length, output, output.Length, out result);
                break;
        }
        if (result.HandshakeDone != 0)
        {
            _handshakeComplete = true;
        }
        // Verification reasons (SslConnection.Security.cs), then the resumption outcome and metrics (SslConnection.Resumption.cs).
        SslIoResult mapped = ObserveHandshake(ExplainFailure(Complete(operation, in result)));
        if (result.NewSessions > 0)
        {
            DeliverNewSessions();
        }
        return mapped;
    }

    // The one mapping from the shim's fs_io_result to SslIoResult (and, on failure, the connection's fault).
    private SslIoResult Complete(SslOperation operation, in FsIoResult result)
    {
        SslStatus status = operation == SslOperation.Shutdown && result.Ret >= 0
            ? (result.Ret == 1 ? SslStatus.Closed : SslStatus.Completed) // 1: both close_notify alerts exchanged
            : result.Ret > 0
            ? SslStatus.Completed
            : result.SslError switch
            {
                ShimConstants.SslErrorWantRead or ShimConstants.SslErrorWantWrite => SslStatus.NeedsInput,
                // Records decrypted before the close_notify in the same batch are the peer's last data: keep them.
                ShimConstants.SslErrorZeroReturn => SslStatus.Closed,
                ServerCacheNative.SslErrorWantClientHelloCb => SslStatus.NeedsSessionLookup, // SslConnection.ServerCache.cs
                _ => SslStatus.Failed,
            };
        ulong code = 0;
        string? error = null;
        if (status == SslStatus.Failed)
        {
            string? queued = OpenSslError.DrainQueue(out ulong first);
            code = result.ErrorCode != 0 ? result.ErrorCode : first;
            error = queued ?? (code != 0 ? OpenSslError.Describe(code) :
                result.SslError == ShimConstants.SslErrorSyscall ? "the peer closed the transport without close_notify" :
                $"SSL_get_error = {result.SslError}");
            _fault = $"{SslIoResult.Describe(operation)} failed: {error}";
            error = _fault;
        }
        return new SslIoResult(operation, status, result.BytesProduced, result.PendingOutput, result.PlaintextBytes, result.NewSessions, code, error);
    }

    /// <summary>Copies ciphertext that did not fit an earlier output buffer. Returns the byte count.</summary>
    public int DrainOutput(Span<byte> output)
    {
        // Allowed after a failure: the pending output is the alert to send before stopping.
        using ExclusiveScope _ = Exclusive(Access.Exclusive | Access.WhenFaulted);
        return ConnectionNative.SslDrainOutput(this, output, output.Length);
    }

    /// <summary>
    /// Makes the object ready for a new connection (<c>SSL_clear</c>) without freeing it: the cheapest way
    /// to run many connections. Invalidates every borrowed view (S10). A session of the previous
    /// connection that was not shut down cleanly is marked non-resumable by OpenSSL (S8). The connection's
    /// session is dropped (<c>SSL_set_session(ssl, NULL)</c>): the next handshake is a full one unless
    /// <see cref="SetSession"/> offers one. A non-null <paramref name="serverName"/> replaces the SNI and the
    /// name the server's certificate is checked against.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="serverName"/> contains a NUL, is empty or longer than 255 bytes.</exception>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another call on this connection is running, <c>SSL_clear</c> failed, or the connection
    /// ran early data (<see cref="WriteEarlyData"/> / <see cref="ReadEarlyData"/>), a state <c>SSL_clear</c> does not reset.</exception>
    public void Reset(string? serverName = null)
    {
        SslContext.ValidateServerName(serverName, nameof(serverName));
        using ExclusiveScope _ = Exclusive(Access.ChangesSession | Access.WhenFaulted);
        ThrowIfEarlyDataUsed(); // SslConnection.EarlyData.cs
        ObserveClose(reuse: true);
        // The generator encodes the name as NUL-terminated UTF-8 on the stack: reusing a connection allocates nothing.
        int status = ConnectionNative.SslClear(this, serverName);
        if (status != ShimConstants.Ok)
        {
            _fault = OpenSslError.ReasonOr("SSL_clear");
            throw new InvalidOperationException(_fault);
        }
        ServerName = serverName ?? ServerName;
        _fault = null;
        _handshakeComplete = false;
        _handshakeStarted = false;
        ResetEarlyData(); // SslConnection.EarlyData.cs
    }

    /// <summary>
    /// Frees the <c>SSL</c> (<c>SSL_free</c>) and every session still waiting on it; invalidates borrowed
    /// views (S10). Owned sessions stay valid. Call <see cref="Shutdown(Span{byte})"/> first to keep the session resumable.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread is running an engine call on this connection (readers are waited out).</exception>
    public void Dispose()
    {
        using ExclusiveScope _ = Exclusive(Access.ChangesSession | Access.WhenFaulted | Access.WhenDisposed);
        if (_ssl != 0)
        {
            ObserveClose(reuse: false); // reads SSL_get_shutdown, so before the handle is cleared
        }
        nint ssl = Interlocked.Exchange(ref _ssl, 0);
        if (ssl != 0)
        {
            ConnectionNative.SslFree(ssl);
            GC.SuppressFinalize(this);
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"SslConnection ({(IsServer ? "server" : "client")}, context #{Context.Id}{(IsDisposed ? ", disposed" : _fault is not null ? ", faulted" : _handshakeComplete ? ", established" : "")})";

    private int GetShutdownFlags()
    {
        using ReaderScope _ = Reader();
        return ConnectionNative.SslGetShutdown(this);
    }

    // Runs inside the engine call's exclusive scope, after OpenSSL returned: the handler may read this
    // connection (same-thread readers pass the gate) but cannot drive it. Drains the native queue in
    // batches until it is empty, so every captured session reaches the handler (S6, S7).
    private void DeliverNewSessions()
    {
        SessionEstablishedHandler? handler = Context.SessionEstablished;
        if (handler is null)
        {
            return; // They wait in the native queue for TryTakeNewSession.
        }
        const int Batch = 16;
        Span<nint> sessions = stackalloc nint[Batch];
        int count;
        while ((count = ConnectionNative.SslTakeNewSessions(this, sessions, sessions.Length)) > 0)
        {
            int delivered = 0;
            try
            {
                for (; delivered < count; delivered++)
                {
                    SslSession session = SslSession.FromOwnedPointer(sessions[delivered]);
                    sessions[delivered] = 0;
                    handler(this, session);
                }
            }
            catch (Exception e)
            {
                // The engine call already ran (data may have been decrypted into the caller's buffer) but its
                // result cannot reach the caller past the exception: fault the connection rather than let it
                // continue with silently lost bytes.
                _fault = $"the SessionEstablished handler threw {e.GetType().Name}: {e.Message}";
                throw;
            }
            finally
            {
                // A throwing handler must not leak the sessions of this batch it never saw; later ones
                // stay in the queue and go with Reset/Dispose.
                for (int i = delivered + 1; i < count; i++)
                {
                    SslSession.FromOwnedPointer(sessions[i]).Dispose();
                }
            }
        }
    }

    private const string NotResumableMessage =
        "The session is not resumable (SSL_SESSION_is_resumable is 0): it was taken before the TLS 1.3 ticket arrived, " +
        "its connection was not shut down cleanly, or it expired. Nothing that resumes may use it.";

    private void ThrowDisposed() => throw new ObjectDisposedException(nameof(SslConnection), "The SslConnection has been disposed; its borrowed views and waiting sessions are gone (owned sessions stay valid).");
}
