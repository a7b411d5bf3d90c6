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
/// Like <c>SslStream</c>, a connection is used by one thread at a time. Engine calls, <see cref="Reset"/>,
/// <see cref="SetSession"/> and <see cref="Dispose"/> detect overlapping use and throw
/// <see cref="InvalidOperationException"/> instead of racing inside OpenSSL.
/// </remarks>
[ShimHandleOwner]
public sealed unsafe partial class SslConnection : IDisposable
{
    private nint _ssl;
    // Bumped by everything that may change or free SSL's session (S1, S10): every engine call,
    // SetSession, Reset, Dispose. Borrowed views compare it on every access.
    private ulong _epoch = 1;
    // 1 while an engine call, Reset, SetSession or Dispose runs: overlapping use is a caller bug that
    // would otherwise become a use-after-free inside OpenSSL.
    private int _busy;
    private int _busyThread; // managed thread id holding _busy, 0 when free
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
        byte[]? name = serverName is null ? null : SslContext.NullTerminated(serverName);
        fixed (byte* n = name)
        {
            _ssl = ConnectionNative.SslCreate(context, n);
        }
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
            bool exit = EnterShared();
            try
            {
                return ConnectionNative.SslSessionReused(this) != 0;
            }
            finally
            {
                ExitShared(exit);
            }
        }
    }

    /// <summary>The negotiated protocol (<c>SSL_version</c>), <see cref="TlsVersion.None"/> before the handshake.</summary>
    public TlsVersion Protocol
    {
        get
        {
            bool exit = EnterShared();
            try
            {
                return _handshakeComplete ? (TlsVersion)ConnectionNative.SslVersion(this) : TlsVersion.None;
            }
            finally
            {
                ExitShared(exit);
            }
        }
    }

    /// <summary>Whether this side sent close_notify (<c>SSL_get_shutdown</c> &amp; <c>SSL_SENT_SHUTDOWN</c>).</summary>
    public bool ShutdownSent => (GetShutdownFlags() & 1) != 0;

    /// <summary>Whether the peer's close_notify arrived (<c>SSL_get_shutdown</c> &amp; <c>SSL_RECEIVED_SHUTDOWN</c>).</summary>
    public bool ShutdownReceived => (GetShutdownFlags() & 2) != 0;

    /// <summary>Sessions the native ring had to drop because nobody took them (<c>FS_NEW_SESSION_RING_CAPACITY</c> = 8).</summary>
    public int DroppedSessionCount
    {
        get
        {
            bool exit = EnterShared();
            try
            {
                return ConnectionNative.SslGetDroppedSessionCount(this);
            }
            finally
            {
                ExitShared(exit);
            }
        }
    }

    /// <summary>Ciphertext waiting to be sent (the write BIO's pending bytes).</summary>
    public int PendingOutput
    {
        get
        {
            bool exit = EnterShared();
            try
            {
                return ConnectionNative.SslPendingOutput(this);
            }
            finally
            {
                ExitShared(exit);
            }
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

    internal ulong Epoch => _epoch;

    /// <summary>The negotiated ALPN protocol (<c>SSL_get0_alpn_selected</c>), or null. Allocates a string.</summary>
    public string? GetApplicationProtocol()
    {
        byte* buffer = stackalloc byte[256];
        int length;
        bool exit = EnterShared();
        try
        {
            length = ConnectionNative.SslGet0AlpnSelected(this, buffer, 256);
        }
        finally
        {
            ExitShared(exit);
        }
        return length > 0 ? System.Text.Encoding.ASCII.GetString(buffer, length) : null;
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
        ThrowIfBusy();
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
        bool exit = EnterShared();
        try
        {
            session = SessionNative.SslGet1Session(this);
            return !session.IsNone;
        }
        finally
        {
            ExitShared(exit);
        }
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
        Enter();
        try
        {
            _epoch++;
            int status = SessionNative.SslSetSession(this, session);
            // The shim checks both in one transition (context first, then SSL_SESSION_is_resumable); the
            // reason it queued is replaced by these exceptions, so leave OpenSSL's queue clean.
            if (status == ShimConstants.ErrWrongContext)
            {
                ErrorNative.ErrClearError();
                RecordRefusedOffer(SslResumptionOutcome.OtherContext); // observe
                throw new SslContextMismatchException(session.ContextId, Context.Id);
            }
            if (status == ShimConstants.ErrNotResumable)
            {
                ErrorNative.ErrClearError();
                RecordRefusedOffer(SslResumptionOutcome.NotResumable); // observe
                throw new ArgumentException(NotResumableMessage, nameof(session));
            }
            if (status != ShimConstants.Ok)
            {
                throw new InvalidOperationException(OpenSslError.ReasonOr("SSL_set_session"));
            }
            RecordOffer(session); // observe
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Takes the oldest session captured by the new-session callback (<c>SSL_CTX_sess_set_new_cb</c>) that no
    /// <see cref="SslContext.SessionEstablished"/> handler consumed. Each is owned by the caller (S6, S7).
    /// </summary>
    public bool TryTakeNewSession(out SslSession session)
    {
        nint pointer = 0;
        int count;
        bool exit = EnterShared();
        try
        {
            count = ConnectionNative.SslTakeNewSessions(this, &pointer, 1);
        }
        finally
        {
            ExitShared(exit);
        }
        session = count == 1 ? SslSession.FromOwnedPointer(pointer) : default;
        return count == 1;
    }

    // ---- Peer certificate: the second get0/get1 pair --------------------------------------------

    /// <summary>Borrows the peer's certificate (<c>SSL_get0_peer_certificate</c>); same lifetime rules as <see cref="TryBorrowSession"/>.</summary>
    public bool TryBorrowPeerCertificate(out PeerCertificateRef certificate)
    {
        ThrowIfBusy();
        certificate = CertificateNative.SslGet0PeerCertificate(this);
        return !certificate.IsEmpty;
    }

    /// <summary>Takes an owned reference to the peer's certificate (<c>SSL_get1_peer_certificate</c>).</summary>
    public bool TryAcquirePeerCertificate(out PeerCertificate certificate)
    {
        bool exit = EnterShared();
        try
        {
            certificate = CertificateNative.SslGet1PeerCertificate(this);
            return !certificate.IsNone;
        }
        finally
        {
            ExitShared(exit);
        }
    }

    // ---- The engine ---------------------------------------------------------------------------

    /// <summary>
    /// Runs one handshake flight: feeds <paramref name="input"/> (ciphertext from the peer), calls
    /// <c>SSL_do_handshake</c> and writes what OpenSSL wants sent into <paramref name="output"/>.
    /// </summary>
    public SslIoResult Handshake(ReadOnlySpan<byte> input, Span<byte> output)
    {
        Enter();
        try
        {
            _epoch++; // before the call too: a view read on another thread during it must fail its check
            _handshakeStarted = true;
            ObserveHandshakeStart(); // observe
            FsIoResult result;
            fixed (byte* i = input)
            fixed (byte* o = output)
            {
                ConnectionNative.SslDoHandshake(this, i, input.Length, o, output.Length, &result);
            }
            if (result.HandshakeDone != 0)
            {
                _handshakeComplete = true;
            }
            return ObserveHandshake(Finish(ref result, "TLS handshake")); // observe
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Feeds ciphertext and decrypts into <paramref name="plaintext"/> (<c>SSL_read_ex</c>). Post-handshake
    /// messages (TLS 1.3 tickets, key updates) are processed here; their replies go to <paramref name="output"/>.
    /// </summary>
    public SslIoResult Read(ReadOnlySpan<byte> input, Span<byte> plaintext, Span<byte> output)
    {
        Enter();
        try
        {
            _epoch++;
            _handshakeStarted = true; // SSL_read on a fresh connection starts the handshake implicitly
            FsIoResult result;
            fixed (byte* i = input)
            fixed (byte* p = plaintext)
            fixed (byte* o = output)
            {
                ConnectionNative.SslRead(this, i, input.Length, p, plaintext.Length, o, output.Length, &result);
            }
            return Finish(ref result, "TLS read");
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Encrypts <paramref name="plaintext"/> (<c>SSL_write_ex</c>) into <paramref name="output"/>.</summary>
    public SslIoResult Write(ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        Enter();
        try
        {
            _epoch++;
            _handshakeStarted = true; // SSL_write on a fresh connection starts the handshake implicitly
            FsIoResult result;
            fixed (byte* p = plaintext)
            fixed (byte* o = output)
            {
                ConnectionNative.SslWrite(this, p, plaintext.Length, o, output.Length, &result);
            }
            return Finish(ref result, "TLS write");
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Sends close_notify (<c>SSL_shutdown</c>). A clean shutdown before <see cref="Dispose"/> keeps the
    /// session resumable; without it OpenSSL marks the session non-resumable (S8).
    /// </summary>
    public SslIoResult Shutdown(Span<byte> output)
    {
        Enter();
        try
        {
            _epoch++;
            _handshakeStarted = true;
            FsIoResult result;
            fixed (byte* o = output)
            {
                ConnectionNative.SslShutdown(this, o, output.Length, &result);
            }
            if (result.Ret >= 0)
            {
                // 0 (sent, peer's not seen yet) and 1 (both) are both a clean close from our side. A second
                // SSL_shutdown reads pending records, and a TLS 1.3 ticket among them replaces (frees) the
                // session: views are stale, and the captured tickets are delivered like any other.
                _epoch++;
                if (result.NewSessions > 0)
                {
                    DeliverNewSessions();
                }
                return new SslIoResult(SslStatus.Completed, result.BytesProduced, result.PendingOutput, 0, result.NewSessions, 0, null);
            }
            return Finish(ref result, "TLS shutdown");
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Copies ciphertext that did not fit an earlier output buffer. Returns the byte count.</summary>
    public int DrainOutput(Span<byte> output)
    {
        bool exit = EnterShared();
        try
        {
            fixed (byte* o = output)
            {
                return ConnectionNative.SslDrainOutput(this, o, output.Length);
            }
        }
        finally
        {
            ExitShared(exit);
        }
    }

    /// <summary>
    /// Makes the object ready for a new connection (<c>SSL_clear</c>) without freeing it: the cheapest way
    /// to run many connections. Invalidates every borrowed view (S10). A session of the previous
    /// connection that was not shut down cleanly is marked non-resumable by OpenSSL (S8).
    /// </summary>
    public void Reset(string? serverName = null)
    {
        Enter(allowFaulted: true);
        try
        {
            _epoch++;
            ObserveClose(reuse: true); // observe
            int status;
            if (serverName is null)
            {
                status = ConnectionNative.SslClear(this, null);
            }
            else
            {
                // NUL-terminated UTF-8 on the stack: reusing a connection for another host allocates nothing.
                int max = System.Text.Encoding.UTF8.GetMaxByteCount(serverName.Length) + 1;
                Span<byte> name = max <= 1024 ? stackalloc byte[max] : new byte[max];
                int length = System.Text.Encoding.UTF8.GetBytes(serverName, name);
                name[length] = 0;
                fixed (byte* n = name)
                {
                    status = ConnectionNative.SslClear(this, n);
                }
            }
            if (status != ShimConstants.Ok)
            {
                _fault = OpenSslError.ReasonOr("SSL_clear");
                throw new InvalidOperationException(_fault);
            }
            ServerName = serverName ?? ServerName;
            _fault = null;
            _handshakeComplete = false;
            _handshakeStarted = false;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Frees the <c>SSL</c> (<c>SSL_free</c>) and every session still waiting on it; invalidates borrowed
    /// views (S10). Owned sessions stay valid. Call <see cref="Shutdown"/> first to keep the session resumable.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            throw new InvalidOperationException("SslConnection.Dispose was called while another call on this connection was running; a connection is used by one thread at a time.");
        }
        _busyThread = Environment.CurrentManagedThreadId;
        try
        {
            _epoch++;
            if (_ssl != 0)
            {
                ObserveClose(reuse: false); // observe (reads SSL_get_shutdown, so before _ssl is cleared)
            }
            nint ssl = Interlocked.Exchange(ref _ssl, 0);
            if (ssl != 0)
            {
                ConnectionNative.SslFree(ssl);
                GC.SuppressFinalize(this);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"SslConnection ({(IsServer ? "server" : "client")}, context #{Context.Id}{(IsDisposed ? ", disposed" : _fault is not null ? ", faulted" : _handshakeComplete ? ", established" : "")})";

    private void Enter(bool allowFaulted = false)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            throw new InvalidOperationException("Another call on this SslConnection is running; a connection is used by one thread at a time.");
        }
        _busyThread = Environment.CurrentManagedThreadId;
        if (_ssl == 0)
        {
            Exit();
            ThrowDisposed();
        }
        if (_fault is not null && !allowFaulted)
        {
            Exit();
            throw new InvalidOperationException($"The connection failed earlier ({_fault}); Reset() or Dispose() it.");
        }
    }

    private void Exit()
    {
        _busyThread = 0;
        Volatile.Write(ref _busy, 0);
    }

    // Read-only access (getters, get0/get1, taking waiting sessions): takes the gate like an engine call,
    // so it cannot overlap one on another thread or race Dispose; but the thread that already holds the
    // gate (a SessionEstablished handler running inside an engine call) may read. Returns whether the
    // caller must release the gate.
    private bool EnterShared()
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) == 0)
        {
            _busyThread = Environment.CurrentManagedThreadId;
            if (_ssl == 0)
            {
                Exit();
                ThrowDisposed();
            }
            return true;
        }
        if (Volatile.Read(ref _busyThread) == Environment.CurrentManagedThreadId)
        {
            return false;
        }
        throw new InvalidOperationException("Another call on this SslConnection is running; a connection is used by one thread at a time.");
    }

    private void ExitShared(bool exit)
    {
        if (exit)
        {
            Exit();
        }
    }

    private int GetShutdownFlags()
    {
        bool exit = EnterShared();
        try
        {
            return ConnectionNative.SslGetShutdown(this);
        }
        finally
        {
            ExitShared(exit);
        }
    }

    // The get0 paths stay a plain load (they are the hottest calls): they detect an engine call already
    // running on another thread; one that starts after this check is caught by the view's epoch check,
    // because engine calls bump the epoch before entering OpenSSL.
    private void ThrowIfBusy()
    {
        if (Volatile.Read(ref _busy) != 0 && Volatile.Read(ref _busyThread) != Environment.CurrentManagedThreadId)
        {
            throw new InvalidOperationException("Another call on this SslConnection is running; a connection is used by one thread at a time.");
        }
    }

    private SslIoResult Finish(ref FsIoResult result, string operation)
    {
        // The call may have changed or freed the session (handshake, a ticket, an alert): views are stale.
        _epoch++;
        if (result.NewSessions > 0)
        {
            DeliverNewSessions();
        }
        if (result.Ret > 0)
        {
            return new SslIoResult(SslStatus.Completed, result.BytesProduced, result.PendingOutput, result.PlaintextBytes, result.NewSessions, 0, null);
        }
        switch (result.SslError)
        {
            case ShimConstants.SslErrorWantRead:
            case ShimConstants.SslErrorWantWrite:
                return new SslIoResult(SslStatus.NeedsInput, result.BytesProduced, result.PendingOutput, result.PlaintextBytes, result.NewSessions, 0, null);
            case ShimConstants.SslErrorZeroReturn:
                // Records decrypted before the close_notify in the same batch are the peer's last data: keep them.
                return new SslIoResult(SslStatus.Closed, result.BytesProduced, result.PendingOutput, result.PlaintextBytes, result.NewSessions, 0, null);
            default:
                ulong code = result.ErrorCode;
                string? queued = OpenSslError.DrainQueue(out ulong first);
                if (code == 0)
                {
                    code = first;
                }
                string reason = queued ?? (code != 0 ? OpenSslError.Describe(code) :
                    result.SslError == ShimConstants.SslErrorSyscall ? "the peer closed the transport without close_notify" : $"SSL_get_error = {result.SslError}");
                _fault = $"{operation} failed: {reason}";
                return new SslIoResult(SslStatus.Failed, result.BytesProduced, result.PendingOutput, result.PlaintextBytes, result.NewSessions, code, _fault);
        }
    }

    private void DeliverNewSessions()
    {
        SessionEstablishedHandler? handler = Context.SessionEstablished;
        if (handler is null)
        {
            return; // They wait in the native ring for TryTakeNewSession.
        }
        nint* sessions = stackalloc nint[ShimConstants.NewSessionRingCapacity];
        int count = ConnectionNative.SslTakeNewSessions(this, sessions, ShimConstants.NewSessionRingCapacity);
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
            // A throwing handler must not leak the sessions it never saw.
            for (int i = delivered + 1; i < count; i++)
            {
                SslSession.FromOwnedPointer(sessions[i]).Dispose();
            }
        }
    }

    private const string NotResumableMessage =
        "The session is not resumable (SSL_SESSION_is_resumable is 0): it was taken before the TLS 1.3 ticket arrived, " +
        "its connection was not shut down cleanly, or it expired. Nothing that resumes may use it.";

    private void ThrowDisposed() => throw new ObjectDisposedException(nameof(SslConnection), "The SslConnection has been disposed; its borrowed views and waiting sessions are gone (owned sessions stay valid).");
}
