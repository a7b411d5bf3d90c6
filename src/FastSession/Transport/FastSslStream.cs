using System;
using System.Buffers;
using System.IO;
using System.Net;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession;

/// <summary>
/// A TLS <see cref="Stream"/> over any inner stream (typically a <see cref="System.Net.Sockets.NetworkStream"/>),
/// shaped like <c>SslStream</c> but driven by a FastSession <see cref="SslConnection"/>: authenticate with
/// <see cref="AuthenticateAsClientAsync(SslContext, string?, SslSession, CancellationToken)"/> or
/// <see cref="AuthenticateAsServerAsync(SslContext, CancellationToken)"/>, then read and write plaintext. The
/// connection stays reachable through <see cref="Connection"/> for its sessions (<see cref="SslConnection.SessionReused"/>,
/// <see cref="SslConnection.TryBorrowSession"/>, <see cref="SslConnection.TryAcquireSession"/> …).
/// </summary>
/// <remarks>
/// <para>Buffers come from <see cref="ArrayPool{T}.Shared"/> for the stream's life and go back on <see cref="Stream.Dispose()"/>.</para>
/// <para>Like <c>SslStream</c>: one read and one write may run at the same time; two reads (or two writes) may not.
/// Engine calls are serialized internally, and every ciphertext byte leaves in the order OpenSSL produced it.</para>
/// <para>TLS 1.3 tickets arrive after the handshake and are processed by reads; a client that only wants the tickets
/// (to resume later) calls <see cref="WaitForSessionTicketsAsync"/>, which processes them without consuming application data.</para>
/// <para>A clean <see cref="ShutdownAsync"/> before disposing keeps the connection's session resumable; disposing without
/// it is an unclean close, after which OpenSSL marks the session non-resumable (S8).</para>
/// <para>A failed handshake (a fatal alert, garbage, a peer that hung up) throws one <see cref="SslHandshakeException"/>
/// (an <see cref="System.Security.Authentication.AuthenticationException"/>) — or the inner stream's <see cref="IOException"/>
/// — and frees the <see cref="SslConnection"/> at once.</para>
/// </remarks>
public sealed class FastSslStream : Stream
{
    private const int InputBufferSize = 16 * 1024;
    // One full TLS record (16 KB of plaintext) plus its overhead fits the output buffer.
    private const int OutputBufferSize = 16 * 1024 + 1024;
    private const int MaxPlaintextPerWrite = 16 * 1024;

    private const int StateCreated = 0, StateAuthenticating = 1, StateAuthenticated = 2, StateFailed = 3, StateDisposed = 4;

    private readonly Stream _inner;
    private readonly bool _leaveInnerStreamOpen;
    // Engine calls (which touch OpenSSL and its memory BIOs) never overlap: a read and a write may run concurrently.
    private readonly object _engineLock = new();
    // Held while ciphertext is drained from the write BIO and sent, so bytes leave in the order OpenSSL produced them.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private byte[]? _input;
    private byte[]? _output;
    private SslConnection? _connection;
    private int _state;
    // An inner read that WaitForSessionTicketsAsync started and stopped waiting for; the next read takes its result.
    private Task<int>? _pendingRead;
    // Ciphertext already fed to the engine may still hold undecrypted records (after the handshake, after a read
    // that filled the caller's buffer, after a peek that found application data).
    private bool _engineMayHoldInput;
    private bool _innerEof;
    private bool _readClosed;
    // A fatal error that arrived after plaintext the last read returned; the next read throws it.
    private SslProtocolException? _readFailure;
    private int _operations;
    private int _sessionsReceived;
    private int _ringCount;

    /// <summary>Wraps <paramref name="innerStream"/>, which is disposed with this stream unless <paramref name="leaveInnerStreamOpen"/>.</summary>
    public FastSslStream(Stream innerStream, bool leaveInnerStreamOpen = false)
    {
        ArgumentNullException.ThrowIfNull(innerStream);
        if (!innerStream.CanRead || !innerStream.CanWrite)
        {
            throw new ArgumentException("The inner stream must be readable and writable.", nameof(innerStream));
        }
        _inner = innerStream;
        _leaveInnerStreamOpen = leaveInnerStreamOpen;
        _input = ArrayPool<byte>.Shared.Rent(InputBufferSize);
        _output = ArrayPool<byte>.Shared.Rent(OutputBufferSize);
    }

    /// <summary>The stream the ciphertext travels over.</summary>
    public Stream InnerStream => _inner;

    /// <summary>
    /// The TLS engine of this stream (available once an authentication started): sessions, <see cref="SslConnection.SessionReused"/>,
    /// borrowed views and owned captures. Do not run engine calls (Handshake/Read/Write/Shutdown) on it directly.
    /// </summary>
    /// <exception cref="InvalidOperationException">No authentication has started.</exception>
    public SslConnection Connection => _connection ?? throw new InvalidOperationException("The stream has not been authenticated: call AuthenticateAsClientAsync or AuthenticateAsServerAsync first.");

    /// <summary>Whether the handshake completed successfully.</summary>
    public bool IsAuthenticated => Volatile.Read(ref _state) == StateAuthenticated;

    /// <summary>Whether this is the server side (false before authentication).</summary>
    public bool IsServer => _connection?.IsServer ?? false;

    /// <summary>Whether the handshake resumed a session (<c>SSL_session_reused</c>).</summary>
    public bool SessionReused => IsAuthenticated && Connection.SessionReused;

    /// <summary>The negotiated protocol, <see cref="TlsVersion.None"/> before the handshake completed.</summary>
    public TlsVersion NegotiatedProtocol => IsAuthenticated ? Connection.Protocol : TlsVersion.None;

    /// <summary>
    /// Sessions the engine established on this connection so far (every TLS 1.3 ticket, the TLS 1.2 session), whether they
    /// went to <see cref="SslContext.SessionEstablished"/> or wait on the connection. When no handler is set and the caller
    /// takes sessions with <see cref="SslConnection.TryTakeNewSession"/> between reads, later ones may be undercounted.
    /// </summary>
    public int SessionsReceived => Volatile.Read(ref _sessionsReceived);

    /// <inheritdoc />
    public override bool CanRead => _state != StateDisposed;

    /// <inheritdoc />
    public override bool CanWrite => _state != StateDisposed;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanTimeout => _inner.CanTimeout;

    /// <inheritdoc />
    public override int ReadTimeout
    {
        get => _inner.ReadTimeout;
        set => _inner.ReadTimeout = value;
    }

    /// <inheritdoc />
    public override int WriteTimeout
    {
        get => _inner.WriteTimeout;
        set => _inner.WriteTimeout = value;
    }

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException("A TLS stream has no length.");

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException("A TLS stream has no position.");
        set => throw new NotSupportedException("A TLS stream has no position.");
    }

    // ---- Authentication -----------------------------------------------------------------------

    /// <summary>
    /// Runs the client handshake. <paramref name="serverName"/> is sent as SNI (null sends none). A session in
    /// <paramref name="resumeWith"/> is offered for resumption (<c>SSL_set_session</c>); the caller keeps owning it.
    /// </summary>
    /// <exception cref="SslHandshakeException">The handshake failed or the peer hung up; the connection is freed.</exception>
    /// <exception cref="ArgumentException"><paramref name="resumeWith"/> is not resumable.</exception>
    public Task AuthenticateAsClientAsync(SslContext context, string? serverName, SslSession resumeWith = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.IsServer)
        {
            throw new ArgumentException("AuthenticateAsClientAsync needs a client context (SslContext.CreateClient).", nameof(context));
        }
        BeginAuthentication();
        SslConnection connection;
        try
        {
            connection = context.CreateConnection(serverName);
        }
        catch
        {
            Volatile.Write(ref _state, StateFailed);
            throw;
        }
        try
        {
            if (!resumeWith.IsNone)
            {
                connection.SetSession(resumeWith);
            }
        }
        catch
        {
            connection.Dispose();
            Volatile.Write(ref _state, StateFailed);
            throw;
        }
        return HandshakeAsync(connection, cancellationToken);
    }

    /// <summary>
    /// Runs the client handshake with a session cache: takes a session for (<paramref name="host"/>, <paramref name="port"/>,
    /// <paramref name="applicationProtocol"/>) from <paramref name="cache"/> if one is there (a TLS 1.3 session leaves the cache,
    /// S9), sets <see cref="SslConnection.CacheKey"/> so the sessions this connection establishes flow back into the cache, and
    /// sends <paramref name="host"/> as SNI unless it is an IP address. When the context has no
    /// <see cref="SslContext.SessionEstablished"/> handler yet, <see cref="SslClientSessionCache.OnSessionEstablished"/> becomes it;
    /// a handler already set must forward to the cache itself.
    /// </summary>
    public Task AuthenticateAsClientAsync(SslContext context, string host, int port, SslClientSessionCache cache, string? applicationProtocol = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        if (context.IsServer)
        {
            throw new ArgumentException("AuthenticateAsClientAsync needs a client context (SslContext.CreateClient).", nameof(context));
        }
        BeginAuthentication();
        SslConnection? connection = null;
        try
        {
            context.SessionEstablished ??= cache.OnSessionEstablished;
            var key = new SslSessionCacheKey(host, port, applicationProtocol);
            connection = context.CreateConnection(IPAddress.TryParse(host, out _) ? null : host);
            connection.CacheKey = key;
            if (cache.TryTakeFor(connection, out SslSession session)) // observe: records the miss reason on the connection
            {
                using (session)
                {
                    try
                    {
                        connection.SetSession(session);
                    }
                    catch (SslContextMismatchException)
                    {
                        // The cache is shared with another context: copy the session over through DER (S12).
                        using SslSession rebound = session.RebindTo(context);
                        connection.SetSession(rebound);
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException && !session.IsResumable)
                    {
                        // Another connection sharing this (TLS 1.2) session closed uncleanly after the cache handed
                        // it out, and OpenSSL marked it non-resumable (S8): go on with a full handshake.
                    }
                }
            }
        }
        catch
        {
            connection?.Dispose();
            Volatile.Write(ref _state, StateFailed);
            throw;
        }
        return HandshakeAsync(connection, cancellationToken);
    }

    /// <summary>Runs the server handshake with a connection of <paramref name="context"/> (a server context).</summary>
    /// <exception cref="SslHandshakeException">The handshake failed or the peer hung up; the connection is freed.</exception>
    public Task AuthenticateAsServerAsync(SslContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.IsServer)
        {
            throw new ArgumentException("AuthenticateAsServerAsync needs a server context (SslContext.CreateServer).", nameof(context));
        }
        BeginAuthentication();
        SslConnection connection;
        try
        {
            connection = context.CreateConnection();
        }
        catch
        {
            Volatile.Write(ref _state, StateFailed);
            throw;
        }
        return HandshakeAsync(connection, cancellationToken);
    }

    /// <summary>
    /// Runs the handshake on a connection the caller prepared (a client with <see cref="SslConnection.SetSession"/> done, or
    /// a connection reused after <see cref="SslConnection.Reset"/>). The stream takes ownership of <paramref name="connection"/>.
    /// </summary>
    public Task AuthenticateAsync(SslConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ObjectDisposedException.ThrowIf(connection.IsDisposed, connection);
        BeginAuthentication();
        return HandshakeAsync(connection, cancellationToken);
    }

    /// <summary>
    /// Client, TLS 1.3: reads from the peer until at least <paramref name="minimumSessions"/> sessions (tickets) arrived on this
    /// connection or <paramref name="timeout"/> passed, processing post-handshake messages without consuming application data
    /// (which stays for <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>). An inner read still outstanding at the
    /// timeout is kept, not cancelled: the next read takes its bytes. Returns <see cref="SessionsReceived"/>; for TLS 1.2, whose
    /// session is established by the handshake itself, it returns at once. Must not run concurrently with a read.
    /// </summary>
    public async Task<int> WaitForSessionTicketsAsync(TimeSpan timeout, int minimumSessions = 1, CancellationToken cancellationToken = default)
    {
        ThrowIfNotAuthenticated();
        SslConnection connection = _connection!;
        if (connection.IsServer || connection.Protocol != TlsVersion.Tls13)
        {
            return SessionsReceived;
        }
        long deadline = Environment.TickCount64 + (long)Math.Max(0, timeout.TotalMilliseconds);
        Interlocked.Increment(ref _operations);
        try
        {
            bool feedInput = !_engineMayHoldInput;
            while (SessionsReceived < minimumSessions && !_readClosed)
            {
                int count = 0;
                if (feedInput)
                {
                    if (_innerEof)
                    {
                        break;
                    }
                    long remaining = deadline - Environment.TickCount64;
                    if (remaining <= 0)
                    {
                        break;
                    }
                    Task<int> read = _pendingRead ??= _inner.ReadAsync(_input!, 0, InputBufferSize, CancellationToken.None);
                    try
                    {
                        await read.WaitAsync(TimeSpan.FromMilliseconds(remaining), cancellationToken).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        break; // The read stays in _pendingRead for the next reader.
                    }
                    catch (OperationCanceledException) when (!read.IsCompleted)
                    {
                        throw;
                    }
                    _pendingRead = null;
                    count = await read.ConfigureAwait(false);
                    if (count == 0)
                    {
                        _innerEof = true;
                        break;
                    }
                }
                // A zero-capacity read is SSL_peek: it processes tickets and stops before application data.
                SslIoResult result = EngineRead(_input.AsSpan(0, count), Span<byte>.Empty);
                await FlushIfPendingAsync(result, sync: false, cancellationToken).ConfigureAwait(false);
                if (result.Status == SslStatus.Failed)
                {
                    throw new SslProtocolException(Reason(result.Error, "Reading the TLS 1.3 session tickets failed"), result.OpenSslError);
                }
                if (result.Status != SslStatus.NeedsInput)
                {
                    // Application data (or the peer's close_notify) is waiting: leave it for the reader.
                    _engineMayHoldInput = true;
                    break;
                }
                _engineMayHoldInput = false;
                feedInput = true;
            }
            return SessionsReceived;
        }
        finally
        {
            Interlocked.Decrement(ref _operations);
        }
    }

    /// <summary>
    /// Sends close_notify (<c>SSL_shutdown</c>) — the clean close that keeps this connection's session resumable (S8). Does not
    /// wait for the peer's close_notify; reads still return data until it arrives. Calling it twice sends nothing more.
    /// </summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotAuthenticated();
        Interlocked.Increment(ref _operations);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SslIoResult result;
            lock (_engineLock)
            {
                SslConnection connection = Connection;
                if (connection.ShutdownSent)
                {
                    return;
                }
                result = connection.Shutdown(_output);
            }
            await SendAsync(result.BytesWritten, result.PendingOutput, sync: false, cancellationToken).ConfigureAwait(false);
            if (result.Status == SslStatus.Failed)
            {
                throw new SslProtocolException(Reason(result.Error, "TLS shutdown failed"), result.OpenSslError);
            }
            await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
            Interlocked.Decrement(ref _operations);
        }
    }

    // ---- Stream -------------------------------------------------------------------------------

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReadCoreAsync(buffer, sync: false, cancellationToken);

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadCoreAsync(buffer.AsMemory(offset, count), sync: false, cancellationToken).AsTask();

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadCoreAsync(buffer.AsMemory(offset, count), sync: true, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        WriteCoreAsync(buffer, sync: false, cancellationToken);

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteCoreAsync(buffer.AsMemory(offset, count), sync: false, cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        WriteCoreAsync(buffer.AsMemory(offset, count), sync: true, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <inheritdoc />
    public override void Flush() => _inner.Flush();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A TLS stream cannot seek.");

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException("A TLS stream has no length.");

    /// <inheritdoc />
    public override string ToString() =>
        $"FastSslStream ({(_state switch { StateCreated => "new", StateAuthenticating => "authenticating", StateAuthenticated => "authenticated", StateFailed => "failed", _ => "disposed" })}" +
        $"{(_connection is { IsDisposed: false } c ? ", " + (c.IsServer ? "server" : "client") : "")})";

    /// <summary>Frees the connection (an unclean close unless <see cref="ShutdownAsync"/> ran), returns the buffers and disposes the inner stream unless left open.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _state, StateDisposed) != StateDisposed)
        {
            try
            {
                FreeConnection();
                if (!_leaveInnerStreamOpen)
                {
                    _inner.Dispose();
                }
            }
            finally
            {
                ReturnBuffers();
            }
        }
        base.Dispose(disposing);
    }

    // ---- Core -----------------------------------------------------------------------------------

    private void BeginAuthentication()
    {
        int previous = Interlocked.CompareExchange(ref _state, StateAuthenticating, StateCreated);
        if (previous != StateCreated)
        {
            ObjectDisposedException.ThrowIf(previous == StateDisposed, this);
            throw new InvalidOperationException(previous == StateAuthenticating || previous == StateAuthenticated
                ? "The stream is already authenticated (or authenticating); a FastSslStream runs one handshake."
                : "An earlier authentication on this stream failed; create a new FastSslStream over a new connection.");
        }
    }

    private async Task HandshakeAsync(SslConnection connection, CancellationToken cancellationToken)
    {
        _connection = connection;
        Interlocked.Increment(ref _operations);
        try
        {
            int inputCount = 0;
            long received = 0;
            while (true)
            {
                SslIoResult result;
                lock (_engineLock)
                {
                    result = connection.Handshake(_input.AsSpan(0, inputCount), _output);
                }
                CountSessions(result);
                if (result.Status == SslStatus.Failed)
                {
                    // Tell the peer why (the alert OpenSSL wrote), if it still listens.
                    try
                    {
                        await SendAsync(result.BytesWritten, result.PendingOutput, sync: false, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException or OperationCanceledException)
                    {
                    }
                    throw new SslHandshakeException(
                        $"{Reason(result.Error, "TLS handshake failed")} ({(connection.IsServer ? "server" : "client")} side)", result.OpenSslError);
                }
                await SendAsync(result.BytesWritten, result.PendingOutput, sync: false, cancellationToken).ConfigureAwait(false);
                if (result.IsCompleted)
                {
                    break;
                }
                if (result.Status == SslStatus.Closed)
                {
                    throw new SslHandshakeException("The peer closed the TLS connection (close_notify) during the handshake.");
                }
                inputCount = await _inner.ReadAsync(_input.AsMemory(0, InputBufferSize), cancellationToken).ConfigureAwait(false);
                if (inputCount == 0)
                {
                    throw new SslHandshakeException(received == 0
                        ? "The peer closed the connection before sending any TLS handshake data."
                        : $"The peer closed the connection during the TLS handshake (after {received} bytes).");
                }
                received += inputCount;
            }
            await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
            // Records that arrived with the last flight (TLS 1.3 tickets, early application data) wait in the engine.
            _engineMayHoldInput = true;
            if (Interlocked.CompareExchange(ref _state, StateAuthenticated, StateAuthenticating) != StateAuthenticating)
            {
                throw new ObjectDisposedException(nameof(FastSslStream), "The stream was disposed during the handshake.");
            }
        }
        catch
        {
            // One failure, everything freed: the SSL (and its sessions) go now, not at finalization.
            Interlocked.CompareExchange(ref _state, StateFailed, StateAuthenticating);
            FreeConnection();
            throw;
        }
        finally
        {
            Interlocked.Decrement(ref _operations);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadCoreAsync(Memory<byte> buffer, bool sync, CancellationToken cancellationToken)
    {
        ThrowIfNotAuthenticated();
        if (_readFailure is { } failed)
        {
            throw failed;
        }
        if (_readClosed)
        {
            return 0;
        }
        ThrowIfFaulted();
        Interlocked.Increment(ref _operations);
        try
        {
            while (true)
            {
                int count = 0;
                if (!_engineMayHoldInput)
                {
                    if (_innerEof)
                    {
                        return 0;
                    }
                    count = await ReadInnerAsync(sync, cancellationToken).ConfigureAwait(false);
                    if (count == 0)
                    {
                        // The transport ended without close_notify: a truncated (unclean) close.
                        _innerEof = true;
                        return 0;
                    }
                }
                // An empty buffer makes this SSL_peek: a zero-byte read waits until data can be read, like SslStream's.
                SslIoResult result = EngineRead(_input.AsSpan(0, count), buffer.Span);
                _engineMayHoldInput = result.IsCompleted && (buffer.IsEmpty || result.PlaintextBytes == buffer.Length);
                await FlushIfPendingAsync(result, sync, cancellationToken).ConfigureAwait(false);
                switch (result.Status)
                {
                    case SslStatus.Completed when result.PlaintextBytes > 0 || buffer.IsEmpty:
                        return result.PlaintextBytes;
                    case SslStatus.Closed:
                        // The peer's close_notify; data that came just before it in the same batch is still returned.
                        _readClosed = true;
                        return result.PlaintextBytes;
                    case SslStatus.Failed:
                        var failure = new SslProtocolException(Reason(result.Error, "TLS read failed"), result.OpenSslError);
                        if (result.PlaintextBytes > 0)
                        {
                            // Data decrypted before the fatal record is the peer's: deliver it, fail the next read.
                            _readFailure = failure;
                            return result.PlaintextBytes;
                        }
                        throw failure;
                    default:
                        continue; // A post-handshake message (a ticket, a key update) or part of a record: read on.
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _operations);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteCoreAsync(ReadOnlyMemory<byte> buffer, bool sync, CancellationToken cancellationToken)
    {
        ThrowIfNotAuthenticated();
        Interlocked.Increment(ref _operations);
        try
        {
            if (sync)
            {
                _writeLock.Wait(cancellationToken);
            }
            else
            {
                await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            try
            {
                ThrowIfFaulted();
                while (!buffer.IsEmpty)
                {
                    ReadOnlyMemory<byte> chunk = buffer.Length > MaxPlaintextPerWrite ? buffer[..MaxPlaintextPerWrite] : buffer;
                    SslIoResult result;
                    lock (_engineLock)
                    {
                        result = Connection.Write(chunk.Span, _output);
                    }
                    if (result.Status == SslStatus.Failed)
                    {
                        await SendAsync(result.BytesWritten, result.PendingOutput, sync, cancellationToken).ConfigureAwait(false);
                        throw new SslProtocolException(Reason(result.Error, "TLS write failed"), result.OpenSslError);
                    }
                    if (result.PlaintextBytes == 0)
                    {
                        throw new SslProtocolException(result.Status == SslStatus.Closed
                            ? "Writing to the TLS connection failed: the connection was shut down."
                            : "Writing to the TLS connection failed: OpenSSL asked to read first (renegotiation is not supported).");
                    }
                    await SendAsync(result.BytesWritten, result.PendingOutput, sync, cancellationToken).ConfigureAwait(false);
                    buffer = buffer[result.PlaintextBytes..];
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _operations);
        }
    }

    private SslIoResult EngineRead(ReadOnlySpan<byte> input, Span<byte> plaintext)
    {
        SslIoResult result;
        lock (_engineLock)
        {
            // No output buffer: ciphertext a read produces (alerts, key update replies) stays in the write BIO and is sent
            // under the write lock, in order with the writer's records.
            result = Connection.Read(input, plaintext, Span<byte>.Empty);
        }
        CountSessions(result);
        return result;
    }

    private async ValueTask<int> ReadInnerAsync(bool sync, CancellationToken cancellationToken)
    {
        if (_pendingRead is { } pending)
        {
            if (sync)
            {
                _pendingRead = null;
                return pending.GetAwaiter().GetResult();
            }
            if (!pending.IsCompleted)
            {
                // Cancelling stops this wait only; the read stays pending for the next reader.
                await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            _pendingRead = null;
            return await pending.ConfigureAwait(false);
        }
        return sync
            ? _inner.Read(_input!, 0, InputBufferSize)
            : await _inner.ReadAsync(_input.AsMemory(0, InputBufferSize), cancellationToken).ConfigureAwait(false);
    }

    private ValueTask FlushIfPendingAsync(SslIoResult result, bool sync, CancellationToken cancellationToken) =>
        result.PendingOutput > 0 ? FlushPendingAsync(sync, cancellationToken) : default;

    private async ValueTask FlushPendingAsync(bool sync, CancellationToken cancellationToken)
    {
        if (sync)
        {
            _writeLock.Wait(cancellationToken);
        }
        else
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await SendAsync(0, 1, sync, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends <paramref name="count"/> bytes of the output buffer, then whatever still waits in the write BIO.</summary>
    private async ValueTask SendAsync(int count, int pending, bool sync, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (count > 0)
            {
                if (sync)
                {
                    _inner.Write(_output!, 0, count);
                }
                else
                {
                    await _inner.WriteAsync(_output.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                }
            }
            if (pending <= 0)
            {
                return;
            }
            lock (_engineLock)
            {
                SslConnection connection = Connection;
                count = connection.DrainOutput(_output);
                pending = count > 0 ? connection.PendingOutput : 0;
            }
            if (count == 0)
            {
                return;
            }
        }
    }

    private void CountSessions(in SslIoResult result)
    {
        if (result.NewSessions == 0 && _ringCount == 0)
        {
            return;
        }
        if (_connection!.Context.SessionEstablished is not null)
        {
            // The handler took every session the call established.
            Interlocked.Add(ref _sessionsReceived, result.NewSessions);
            _ringCount = 0;
        }
        else
        {
            // Sessions wait in the connection's ring; NewSessions is the ring's count after the call.
            int added = result.NewSessions - _ringCount;
            if (added > 0)
            {
                Interlocked.Add(ref _sessionsReceived, added);
            }
            _ringCount = result.NewSessions;
        }
    }

    private void ThrowIfNotAuthenticated()
    {
        int state = Volatile.Read(ref _state);
        if (state == StateAuthenticated)
        {
            return;
        }
        ObjectDisposedException.ThrowIf(state == StateDisposed, this);
        throw new InvalidOperationException(state == StateFailed
            ? "The TLS handshake failed; the stream cannot be used."
            : "The stream has not been authenticated: call AuthenticateAsClientAsync or AuthenticateAsServerAsync first.");
    }

    /// <summary>An earlier read or write failed fatally: further I/O is an <see cref="IOException"/>, as with SslStream.</summary>
    private void ThrowIfFaulted()
    {
        if (_connection is { IsFaulted: true })
        {
            throw new SslProtocolException("The TLS connection failed earlier (a fatal alert or a corrupt record); it cannot be used any more.");
        }
    }

    private void FreeConnection()
    {
        SslConnection? connection = _connection;
        if (connection is null)
        {
            return;
        }
        lock (_engineLock)
        {
            if (!connection.IsDisposed)
            {
                connection.Dispose();
            }
        }
    }

    private void ReturnBuffers()
    {
        byte[]? input = Interlocked.Exchange(ref _input, null);
        byte[]? output = Interlocked.Exchange(ref _output, null);
        // A buffer still in use by an operation in flight (or an inner read nobody awaited) goes to the GC, not the pool:
        // the pool must never hand out memory something else still writes into.
        Task<int>? pending = _pendingRead;
        bool busy = Volatile.Read(ref _operations) != 0;
        if (pending is not null && !pending.IsCompleted)
        {
            // Observe its failure (the inner stream was just disposed under it).
            _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            busy = true;
        }
        if (!busy)
        {
            if (input is not null)
            {
                ArrayPool<byte>.Shared.Return(input);
            }
            if (output is not null)
            {
                ArrayPool<byte>.Shared.Return(output);
            }
        }
    }

    // SslConnection's messages already say what failed ("TLS handshake failed: <OpenSSL reason>").
    private static string Reason(string? error, string operation) => string.IsNullOrEmpty(error) ? operation + " (OpenSSL gave no reason)" : error;
}
