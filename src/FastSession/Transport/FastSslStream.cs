using System;
using System.Buffers;
using System.IO;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession;

/// <summary>
/// A TLS <see cref="Stream"/> over any inner stream (typically a <see cref="System.Net.Sockets.NetworkStream"/>),
/// shaped like <c>SslStream</c> but driven by a FastSession <see cref="SslConnection"/>: authenticate with
/// <see cref="AuthenticateAsClientAsync(SslContext, string?, SslSession, CancellationToken)"/> or
/// <see cref="AuthenticateAsServerAsync(SslContext, CancellationToken)"/>, then read and write plaintext. The
/// connection stays reachable through <see cref="Connection"/> for its sessions (<see cref="SslConnection.TryBorrowSession"/>,
/// <see cref="SslConnection.TryAcquireSession"/> …) until the stream is disposed.
/// </summary>
/// <remarks>
/// <para>Like <c>SslStream</c>: one read and one write may run at the same time; a second concurrent read (or write, or
/// <see cref="ShutdownAsync"/>) throws <see cref="NotSupportedException"/> at once. Engine calls are serialized internally,
/// and every ciphertext byte leaves in the order OpenSSL produced it.</para>
/// <para>Closing: disposing a healthy authenticated stream (sync or async) sends close_notify (<c>SSL_shutdown</c>) first,
/// waiting at most one second for the inner stream to take it and never throwing, so the session stays resumable (S8)
/// even for hosts that never call <see cref="ShutdownAsync"/>. A stream whose handshake or I/O failed, whose peer hung up
/// without close_notify, or whose write was still running is freed without close_notify: OpenSSL then marks its session
/// non-resumable (S8).</para>
/// <para>Resources: two buffers are rented from <see cref="ArrayPool{T}.Shared"/> per stream, and the <see cref="SslConnection"/>
/// comes from (and, after a clean close, goes back to) a pool of its context, reset with <c>SSL_clear</c>. Both are released
/// when the last operation still running after <see cref="Stream.Dispose()"/> ends.</para>
/// <para>TLS 1.3 tickets arrive after the handshake and are processed by reads; a client that only wants the tickets
/// calls <see cref="WaitForSessionTicketsAsync"/>, which processes them without consuming application data.</para>
/// <para>A failed handshake (a fatal alert, garbage, a peer that hung up) throws one <see cref="SslHandshakeException"/>
/// (an <see cref="System.Security.Authentication.AuthenticationException"/>) — or the inner stream's <see cref="IOException"/>
/// — and frees the <see cref="SslConnection"/> at once. After a fatal error every operation throws that same exception;
/// after <see cref="Stream.Dispose()"/>, including operations that were running, <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed partial class FastSslStream : Stream
{
    private const int InputBufferSize = 16 * 1024;
    // One full TLS record (16 KB of plaintext) plus its overhead fits the output buffer.
    private const int OutputBufferSize = 16 * 1024 + 1024;
    private const int MaxPlaintextPerWrite = 16 * 1024;
    private const int StateCreated = 0, StateAuthenticating = 1, StateAuthenticated = 2, StateFailed = 3;

    // Dispose gives the close_notify this long to leave; a peer that stopped reading does not hold Dispose up.
    private static readonly TimeSpan s_closeTimeout = TimeSpan.FromSeconds(1);
    // _exception's value once the stream is disposed; operations then throw a fresh ObjectDisposedException.
    private static readonly ExceptionDispatchInfo s_disposedSentinel = ExceptionDispatchInfo.Capture(new ObjectDisposedException(nameof(FastSslStream)));

    private readonly Stream _inner;
    private readonly bool _leaveInnerStreamOpen;
    // Held from an engine call that fills _output until its bytes are sent, so ciphertext leaves in OpenSSL's order.
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly byte[] _input;
    // Engine calls (OpenSSL and its memory BIOs) never overlap; a read and a write may otherwise run concurrently. The
    // monitor of the send lock's object (which SemaphoreSlim never locks itself) saves an object per stream.
    private object EngineLock => _sendLock;
    private readonly byte[] _output;
    private SslConnection? _connection;
    private bool _connectionIsPooled;
    private int _state;
    // The failed state: the first fatal error (handshake, protocol, the transport's), or s_disposedSentinel.
    private ExceptionDispatchInfo? _exception;
    // The stream's own reference plus one per running operation: the last release frees the connection and buffers.
    private int _references = 1;
    private int _disposed;
    private int _nestedRead;
    private int _nestedWrite;
    private bool _sessionReused;
    private TlsVersion _protocol;
    private int _sessionsReceived;

    /// <summary>Wraps <paramref name="innerStream"/>, which is disposed with this stream unless <paramref name="leaveInnerStreamOpen"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="innerStream"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="innerStream"/> cannot both read and write.</exception>
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
    /// The TLS engine of this stream (available once an authentication started): sessions, borrowed views and owned captures.
    /// Do not run engine calls (Handshake/Read/Write/Shutdown) on it directly, and do not keep it past the stream's
    /// <see cref="Stream.Dispose()"/>: a connection that ended cleanly goes back to its context's pool and serves another stream.
    /// </summary>
    /// <exception cref="InvalidOperationException">No authentication has started.</exception>
    /// <exception cref="ObjectDisposedException">The stream was disposed and its connection went back to the pool.</exception>
    public SslConnection Connection
    {
        get
        {
            if (_connection is { } connection)
            {
                return connection;
            }
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            throw new InvalidOperationException("The stream has not been authenticated: call AuthenticateAsClientAsync or AuthenticateAsServerAsync first.");
        }
    }

    /// <summary>Whether the handshake completed and no fatal error or <see cref="Stream.Dispose()"/> ended the stream since.</summary>
    public bool IsAuthenticated => Volatile.Read(ref _state) == StateAuthenticated && Volatile.Read(ref _exception) is null;

    /// <summary>Whether this is the server side (false before authentication).</summary>
    public bool IsServer => _connection?.IsServer ?? false;

    /// <summary>Whether the handshake resumed a session (<c>SSL_session_reused</c>, read when the handshake completed).</summary>
    public bool SessionReused => Volatile.Read(ref _state) == StateAuthenticated && _sessionReused;

    /// <summary>The negotiated protocol (<c>SSL_version</c>), <see cref="TlsVersion.None"/> before the handshake completed.</summary>
    public TlsVersion NegotiatedProtocol => Volatile.Read(ref _state) == StateAuthenticated ? _protocol : TlsVersion.None;

    /// <summary>
    /// Sessions the engine established on this connection so far (every TLS 1.3 ticket, the TLS 1.2 session), whether they
    /// went to <see cref="SslContext.SessionEstablished"/> or wait on the connection. When no handler is set and the caller
    /// takes sessions with <see cref="SslConnection.TryTakeNewSession"/> between reads, later ones may be undercounted.
    /// </summary>
    public int SessionsReceived => Volatile.Read(ref _sessionsReceived);

    /// <inheritdoc />
    public override bool CanRead => _disposed == 0;

    /// <inheritdoc />
    public override bool CanWrite => _disposed == 0;

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
    /// Runs the client handshake (<c>SSL_do_handshake</c>). <paramref name="serverName"/> is sent as SNI (null sends none). A
    /// session in <paramref name="resumeWith"/> is offered for resumption (<c>SSL_set_session</c>); the caller keeps owning it.
    /// </summary>
    /// <exception cref="SslHandshakeException">The handshake failed or the peer hung up; the connection is freed.</exception>
    /// <exception cref="IOException">The inner stream failed.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a server context, or <paramref name="resumeWith"/> is not resumable.</exception>
    /// <exception cref="SslContextMismatchException"><paramref name="resumeWith"/> belongs to another context (S12).</exception>
    /// <exception cref="InvalidOperationException">The stream was already authenticated, or an earlier authentication failed.</exception>
    /// <exception cref="ObjectDisposedException">The stream or the context was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the connection is freed.</exception>
    public Task AuthenticateAsClientAsync(SslContext context, string? serverName, SslSession resumeWith = default, CancellationToken cancellationToken = default)
    {
        RequireContext(context, server: false);
        return StartHandshake(context, serverName, resumeWith, null, default, cancellationToken);
    }

    /// <summary>
    /// Runs the client handshake with a session cache: takes a session for (<paramref name="host"/>, <paramref name="port"/>,
    /// <paramref name="applicationProtocol"/>) from <paramref name="cache"/> if one is there (a TLS 1.3 session leaves the cache,
    /// S9), sets <see cref="SslConnection.CacheKey"/> so the sessions this connection establishes flow back into the cache, and
    /// sends <paramref name="host"/> as SNI unless it is an IP address. When the context has no
    /// <see cref="SslContext.SessionEstablished"/> handler yet, <see cref="SslClientSessionCache.OnSessionEstablished"/> becomes it;
    /// a handler already set must forward to the cache itself.
    /// </summary>
    /// <exception cref="SslHandshakeException">The handshake failed or the peer hung up; the connection is freed.</exception>
    /// <exception cref="IOException">The inner stream failed.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a server context, or <paramref name="host"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not 0-65535.</exception>
    /// <exception cref="InvalidOperationException">The stream was already authenticated, or an earlier authentication failed.</exception>
    /// <exception cref="ObjectDisposedException">The stream, the context or the cache was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the connection is freed.</exception>
    public Task AuthenticateAsClientAsync(SslContext context, string host, int port, SslClientSessionCache cache, string? applicationProtocol = null, CancellationToken cancellationToken = default) =>
        AuthenticateWithCacheAsync(context, host, port, cache, applicationProtocol, default, cancellationToken);

    // The cache overloads, with and without early data (FastSslStream.EarlyData.cs).
    private Task AuthenticateWithCacheAsync(SslContext context, string host, int port, SslClientSessionCache cache, string? applicationProtocol, ReadOnlyMemory<byte> earlyData, CancellationToken cancellationToken)
    {
        RequireContext(context, server: false);
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        context.SessionEstablished ??= cache.OnSessionEstablished;
        var key = new SslSessionCacheKey(host, port, applicationProtocol);
        return StartHandshake(context, host, default, cache, key, cancellationToken, earlyData); // an IP literal is checked against the certificate, never sent as SNI
    }

    /// <summary>Runs the server handshake (<c>SSL_do_handshake</c>) with a connection of <paramref name="context"/> (a server context).</summary>
    /// <exception cref="SslHandshakeException">The handshake failed or the peer hung up; the connection is freed.</exception>
    /// <exception cref="IOException">The inner stream failed.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a client context.</exception>
    /// <exception cref="InvalidOperationException">The stream was already authenticated, or an earlier authentication failed.</exception>
    /// <exception cref="ObjectDisposedException">The stream or the context was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the connection is freed.</exception>
    public Task AuthenticateAsServerAsync(SslContext context, CancellationToken cancellationToken = default)
    {
        RequireContext(context, server: true);
        return StartHandshake(context, null, default, null, default, cancellationToken);
    }

    /// <summary>
    /// Runs the handshake (<c>SSL_do_handshake</c>) on a connection the caller prepared (a client with
    /// <see cref="SslConnection.SetSession"/> done, or a connection reused after <see cref="SslConnection.Reset"/>). The stream
    /// takes ownership of <paramref name="connection"/> and frees it when disposed (it never goes to a pool).
    /// </summary>
    /// <exception cref="SslHandshakeException">The handshake failed or the peer hung up; the connection is freed.</exception>
    /// <exception cref="IOException">The inner stream failed.</exception>
    /// <exception cref="InvalidOperationException">The stream was already authenticated, or an earlier authentication failed.</exception>
    /// <exception cref="ObjectDisposedException">The stream or <paramref name="connection"/> was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the connection is freed.</exception>
    public Task AuthenticateAsync(SslConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ObjectDisposedException.ThrowIf(connection.IsDisposed, connection);
        BeginAuthentication();
        _connection = connection;
        return HandshakeAsync(cancellationToken).AsTask();
    }

    /// <summary>
    /// Client, TLS 1.3: reads from the peer (<c>SSL_peek_ex</c>) until at least <paramref name="minimumSessions"/> sessions
    /// (tickets) arrived on this connection or <paramref name="timeout"/> passed, processing post-handshake messages without
    /// consuming application data (which stays for <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>). An inner read
    /// still outstanding at the timeout is kept, not cancelled: the next read takes its bytes. Returns <see cref="SessionsReceived"/>;
    /// for TLS 1.2, whose session is established by the handshake itself, and on a server, it returns at once.
    /// </summary>
    /// <exception cref="NotSupportedException">A read is already running on this stream.</exception>
    /// <exception cref="SslProtocolException">The connection failed (now or earlier).</exception>
    /// <exception cref="InvalidOperationException">The stream is not authenticated.</exception>
    /// <exception cref="ObjectDisposedException">The stream was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<int> WaitForSessionTicketsAsync(TimeSpan timeout, int minimumSessions = 1, CancellationToken cancellationToken = default)
    {
        ThrowIfNotAuthenticated();
        if (_connection!.IsServer || _protocol != TlsVersion.Tls13 || SessionsReceived >= minimumSessions)
        {
            return Task.FromResult(SessionsReceived);
        }
        long deadline = Environment.TickCount64 + (long)Math.Max(1, timeout.TotalMilliseconds);
        return ReadCoreAsync<AsyncReadWriteAdapter>(Memory<byte>.Empty, minimumSessions, deadline, cancellationToken).AsTask();
    }

    /// <summary>
    /// Sends close_notify (<c>SSL_shutdown</c>) — the clean close that keeps this connection's session resumable (S8). Does not
    /// wait for the peer's close_notify; reads still return data until it arrives. Calling it twice sends nothing more.
    /// Disposing a healthy stream does the same (bounded in time); call this to learn whether the close_notify left.
    /// </summary>
    /// <exception cref="NotSupportedException">A write is already running on this stream.</exception>
    /// <exception cref="SslProtocolException">The connection failed (now or earlier).</exception>
    /// <exception cref="IOException">The inner stream failed.</exception>
    /// <exception cref="InvalidOperationException">The stream is not authenticated.</exception>
    /// <exception cref="ObjectDisposedException">The stream was disposed.</exception>
    public Task ShutdownAsync(CancellationToken cancellationToken = default) =>
        RunWriteSideAsync<AsyncReadWriteAdapter>(ReadOnlyMemory<byte>.Empty, shutdown: true, cancellationToken).AsTask();

    // ---- Stream -------------------------------------------------------------------------------

    /// <summary>Reads plaintext (<c>SSL_read_ex</c>); 0 at the peer's close_notify or the end of the inner stream. An empty
    /// buffer waits until data can be read without consuming it (<c>SSL_peek_ex</c>).</summary>
    /// <exception cref="NotSupportedException">A read is already running on this stream.</exception>
    /// <exception cref="SslProtocolException">The connection failed (now or earlier).</exception>
    /// <exception cref="IOException">The inner stream failed.</exception>
    /// <exception cref="InvalidOperationException">The stream is not authenticated.</exception>
    /// <exception cref="ObjectDisposedException">The stream was disposed (also while the read ran).</exception>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReadCoreAsync<AsyncReadWriteAdapter>(buffer, int.MaxValue, 0, cancellationToken);

    /// <inheritdoc cref="ReadAsync(Memory{byte}, CancellationToken)" />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadCoreAsync<AsyncReadWriteAdapter>(buffer.AsMemory(offset, count), int.MaxValue, 0, cancellationToken).AsTask();
    }

    /// <inheritdoc cref="ReadAsync(Memory{byte}, CancellationToken)" />
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadCoreAsync<SyncReadWriteAdapter>(buffer.AsMemory(offset, count), int.MaxValue, 0, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>Encrypts and sends plaintext (<c>SSL_write_ex</c>, one record per 16 KB).</summary>
    /// <exception cref="NotSupportedException">A write (or <see cref="ShutdownAsync"/>) is already running on this stream.</exception>
    /// <exception cref="SslProtocolException">The connection failed (now or earlier), or was shut down.</exception>
    /// <exception cref="IOException">The inner stream failed.</exception>
    /// <exception cref="InvalidOperationException">The stream is not authenticated.</exception>
    /// <exception cref="ObjectDisposedException">The stream was disposed (also while the write ran).</exception>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        RunWriteSideAsync<AsyncReadWriteAdapter>(buffer, shutdown: false, cancellationToken);

    /// <inheritdoc cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)" />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return RunWriteSideAsync<AsyncReadWriteAdapter>(buffer.AsMemory(offset, count), shutdown: false, cancellationToken).AsTask();
    }

    /// <inheritdoc cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)" />
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        RunWriteSideAsync<SyncReadWriteAdapter>(buffer.AsMemory(offset, count), shutdown: false, CancellationToken.None).GetAwaiter().GetResult();
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
        $"FastSslStream ({(_disposed != 0 ? "disposed" : _exception is not null ? "failed" : _state switch { StateCreated => "new", StateAuthenticating => "authenticating", StateAuthenticated => "authenticated", _ => "failed" })}" +
        $"{(_connection is { IsDisposed: false } c ? ", " + (c.IsServer ? "server" : "client") : "")})";

    /// <summary>
    /// Closes the stream: a healthy authenticated stream first sends close_notify (<c>SSL_shutdown</c>, at most one second, never
    /// throwing) so its session stays resumable; a failed or aborted one does not, and OpenSSL invalidates its session (S8). Then
    /// disposes the inner stream unless left open; the connection and buffers are released when the last running operation ends
    /// (those operations throw <see cref="ObjectDisposedException"/>).
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && BeginDispose())
        {
            ValueTask<bool> close = StartCleanClose();
            if (close.IsCompleted)
            {
                _ = close.Result; // hands the pooled operation back
            }
            else
            {
                close.AsTask().Wait(s_closeTimeout); // never faults; false after the timeout, and the close goes on
            }
            EndDispose(disposeInner: true);
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc cref="Dispose(bool)" />
    public override async ValueTask DisposeAsync()
    {
        if (BeginDispose())
        {
            ValueTask<bool> close = StartCleanClose();
            if (close.IsCompleted)
            {
                _ = close.Result;
            }
            else
            {
                try
                {
                    await close.AsTask().WaitAsync(s_closeTimeout).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // The peer stopped reading; the close goes on until the inner stream's disposal ends it.
                }
            }
            EndDispose(disposeInner: false);
            if (!_leaveInnerStreamOpen)
            {
                await _inner.DisposeAsync().ConfigureAwait(false);
            }
        }
        GC.SuppressFinalize(this);
    }
}
