using System;
using System.Buffers;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession;

/// <content>
/// The machinery under the public surface, in the order data moves: start a handshake, the one inbound pump (handshake,
/// read, ticket wait), the write side (write, shutdown), the one engine-call path, sending, and the stream's lifetime.
/// </content>
public sealed partial class FastSslStream
{
    private enum EngineStep
    {
        Handshake,
        Read,
        Write,
        Shutdown,
        WriteEarlyData, // FastSslStream.EarlyData.cs
        ReadEarlyData,
    }

    // Ciphertext already fed to the engine may still hold undecrypted records (after the handshake, after a read that
    // filled the caller's buffer, after a peek that found application data): the pump calls the engine before reading.
    private bool _engineHoldsInput;
    // The inner stream ended (0 bytes read); without _readClosed that is a truncation: the peer vanished.
    private bool _innerEof;
    // The peer's close_notify arrived.
    private bool _readClosed;
    // This side's close_notify left and was flushed: the connection may go back to the pool.
    private bool _closeSent;
    // An inner read the ticket wait started and stopped waiting for; the next pump takes its result.
    private Task<int>? _pendingReceive;

    // ---- Starting a handshake ------------------------------------------------------------------

    private static void RequireContext(SslContext context, bool server)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.IsServer != server)
        {
            throw new ArgumentException(server
                ? "AuthenticateAsServerAsync needs a server context (SslContext.CreateServer)."
                : "AuthenticateAsClientAsync needs a client context (SslContext.CreateClient).", nameof(context));
        }
    }

    private void BeginAuthentication()
    {
        int previous = Interlocked.CompareExchange(ref _state, StateAuthenticating, StateCreated);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (previous != StateCreated)
        {
            throw new InvalidOperationException(previous is StateAuthenticating or StateAuthenticated
                ? "The stream is already authenticated (or authenticating); a FastSslStream runs one handshake."
                : "An earlier authentication on this stream failed; create a new FastSslStream over a new connection.");
        }
    }

    /// <summary>Takes a connection from the context's pool, offers a session (given, or from the cache), runs the handshake.</summary>
    private Task StartHandshake(SslContext context, string? serverName, SslSession resumeWith, SslClientSessionCache? cache, SslSessionCacheKey key, CancellationToken cancellationToken, ReadOnlyMemory<byte> earlyData = default)
    {
        BeginAuthentication();
        // Only the call that won the state sets the early data: a refused concurrent call must not change what this handshake sends.
        _earlyData = earlyData;
        SslConnection? connection = null;
        try
        {
            connection = SslConnectionPool.Rent(context, serverName);
            if (cache is not null)
            {
                ResumeFromCache(connection, cache, key);
            }
            else if (!resumeWith.IsNone)
            {
                connection.SetSession(resumeWith);
            }
        }
        catch
        {
            connection?.Dispose();
            Volatile.Write(ref _state, StateFailed);
            throw;
        }
        _connection = connection;
        _connectionIsPooled = true;
        return HandshakeAsync(cancellationToken).AsTask();
    }

    private static void ResumeFromCache(SslConnection connection, SslClientSessionCache cache, SslSessionCacheKey key)
    {
        connection.CacheKey = key;
        if (!cache.TryTakeFor(connection, out SslSession session)) // records the miss reason on the connection
        {
            return;
        }
        using (session)
        {
            try
            {
                connection.SetSession(session);
            }
            catch (SslContextMismatchException)
            {
                // The cache is shared with another context. Never re-bind implicitly (S12 keeps RebindTo explicit): the
                // session carries its context's identity (a client certificate, verification settings), and copying it
                // would let this context resume as that identity. Full handshake; the outcome says OtherContext.
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException && !session.IsResumable)
            {
                // Another connection sharing this (TLS 1.2) session closed uncleanly after the cache handed
                // it out, and OpenSSL marked it non-resumable (S8): go on with a full handshake.
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask HandshakeAsync(CancellationToken cancellationToken)
    {
        if (!TryAddReference())
        {
            Volatile.Write(ref _state, StateFailed);
            FreeConnectionNow();
            throw new ObjectDisposedException(nameof(FastSslStream));
        }
        try
        {
            _engineHoldsInput = true; // the first engine call writes the ClientHello (a server's asks for input)
            await EarlyDataPhaseAsync(cancellationToken).ConfigureAwait(false); // FastSslStream.EarlyData.cs
            if (_halfRtt)
            {
                // Early data accepted: authenticated now, the client's Finished is read later (0.5-RTT, FastSslStream.EarlyData.cs).
                await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
                _sessionReused = true;
                _protocol = TlsVersion.Tls13;
                Volatile.Write(ref _state, StateAuthenticated);
                await CompleteEarlyDataAsync(cancellationToken).ConfigureAwait(false);
                StartHalfRtt(); // the rest of the handshake, in the background (FastSslStream.EarlyData.cs)
                return;
            }
            await PumpAsync<AsyncReadWriteAdapter>(EngineStep.Handshake, Memory<byte>.Empty, int.MaxValue, 0, cancellationToken).ConfigureAwait(false);
            await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
            lock (EngineLock)
            {
                ThrowIfExceptional();
                _sessionReused = _connection!.SessionReused;
                _protocol = _connection.Protocol;
            }
            // Records that arrived with the last flight (TLS 1.3 tickets, early application data) wait in the engine.
            _engineHoldsInput = true;
            Volatile.Write(ref _state, StateAuthenticated);
            await CompleteEarlyDataAsync(cancellationToken).ConfigureAwait(false); // rejected early data is written again
        }
        catch (Exception e)
        {
            // One failure, everything freed: the SSL (and its sessions) go now, not when the stream is disposed.
            Volatile.Write(ref _state, StateFailed);
            RecordFailure(e);
            FreeConnectionNow();
            ThrowSurfaced(e);
            throw;
        }
        finally
        {
            Release();
        }
    }

    // ---- The inbound pump: handshake, read, ticket wait ---------------------------------------

    /// <summary>
    /// Reads plaintext into <paramref name="buffer"/> (empty: waits for data without consuming it). The ticket wait is the
    /// same read with an empty buffer that also stops once <paramref name="minimumSessions"/> arrived or at
    /// <paramref name="deadline"/> (<see cref="Environment.TickCount64"/>; 0: none), and returns <see cref="SessionsReceived"/>.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadCoreAsync<TIOAdapter>(Memory<byte> buffer, int minimumSessions, long deadline, CancellationToken cancellationToken)
        where TIOAdapter : IReadWriteAdapter
    {
        ThrowIfNotAuthenticated();
        EnterOperation(ref _nestedRead, "read");
        try
        {
            ThrowIfExceptional();
            if (TryReadEarlyReceived(buffer.Span, out int early)) // FastSslStream.EarlyData.cs
            {
                return deadline == 0 ? early : SessionsReceived;
            }
            if (_halfRttTask is not null)
            {
                await AwaitHalfRttAsync(cancellationToken).ConfigureAwait(false); // 0.5-RTT: FastSslStream.EarlyData.cs
                if (TryReadEarlyReceived(buffer.Span, out early))
                {
                    return deadline == 0 ? early : SessionsReceived;
                }
            }
            int read = _readClosed ? 0 : await PumpAsync<TIOAdapter>(EngineStep.Read, buffer, minimumSessions, deadline, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                ThrowIfNotAuthenticated(); // an end that Dispose caused is not the peer's
            }
            return deadline == 0 ? read : SessionsReceived;
        }
        catch (Exception e)
        {
            ThrowSurfaced(e);
            throw;
        }
        finally
        {
            ExitOperation(ref _nestedRead);
        }
    }

    /// <summary>
    /// The one inbound loop: feeds what the peer sent to the engine (or first lets the engine work on what it holds), sends what
    /// the engine answered, and classifies the result, until <paramref name="step"/> is done.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> PumpAsync<TIOAdapter>(EngineStep step, Memory<byte> plaintext, int minimumSessions, long deadline, CancellationToken cancellationToken)
        where TIOAdapter : IReadWriteAdapter
    {
        long received = 0;
        while (true)
        {
            int count = 0;
            if (!_engineHoldsInput)
            {
                count = _innerEof ? 0 : await ReceiveAsync<TIOAdapter>(deadline, cancellationToken).ConfigureAwait(false);
                if (count < 0)
                {
                    return 0; // the ticket wait's deadline passed
                }
                if (count == 0)
                {
                    _innerEof = true;
                    _connection?.NoteTransportEnded(closeNotifyReceived: _readClosed); // fleet: S8 for the server store
                    return step == EngineStep.Handshake ? throw Fail(new SslHandshakeException(received == 0
                        ? "The peer closed the connection before sending any TLS handshake data."
                        : $"The peer closed the connection during the TLS handshake (after {received} bytes).")) : 0;
                }
                received += count;
            }
            SslIoResult result = RunEngine(step, _input.AsSpan(0, count), plaintext.Span);
            _engineHoldsInput = result.IsCompleted && (step == EngineStep.Handshake || plaintext.IsEmpty || result.PlaintextBytes == plaintext.Length);
            if (step == EngineStep.Handshake)
            {
                await SendAsync<TIOAdapter>(result.BytesWritten, result.PendingOutput, cancellationToken).ConfigureAwait(false);
            }
            else if (result.PendingOutput > 0)
            {
                // A read's answers (alerts, key update replies) wait in the write BIO and leave in order with the writer's records.
                await TIOAdapter.WaitAsync(_sendLock, cancellationToken).ConfigureAwait(false);
                try
                {
                    await SendAsync<TIOAdapter>(0, result.PendingOutput, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _sendLock.Release();
                }
            }
            switch (result.Status)
            {
                case SslStatus.Failed when result.PlaintextBytes > 0:
                    return result.PlaintextBytes; // the peer's data before the fatal record; the next call throws
                case SslStatus.Failed:
                    ThrowIfExceptional();
                    break;
                case SslStatus.Closed when step == EngineStep.Handshake:
                    throw Fail(new SslHandshakeException("The peer closed the TLS connection (close_notify) during the handshake."));
                case SslStatus.Closed:
                    _readClosed = true; // data that came just before the close_notify in the same batch is still returned
                    return result.PlaintextBytes;
                case SslStatus.Completed when step == EngineStep.Handshake || result.PlaintextBytes > 0 || plaintext.IsEmpty:
                    return result.PlaintextBytes;
                case SslStatus.NeedsInput when SessionsReceived >= minimumSessions:
                    return 0;
                case SslStatus.NeedsSessionLookup:
                    // The server's session store, awaited outside OpenSSL (SslConnection.ServerCache.cs); then the engine goes on.
                    await _connection!.LookUpSessionAsync(cancellationToken).ConfigureAwait(false);
                    _engineHoldsInput = true;
                    continue;
            }
            // A post-handshake message (a ticket, a key update), part of a record, or the next flight: read on.
        }
    }

    /// <summary>Reads ciphertext into the input buffer; -1 when <paramref name="deadline"/> passed first.</summary>
    private ValueTask<int> ReceiveAsync<TIOAdapter>(long deadline, CancellationToken cancellationToken)
        where TIOAdapter : IReadWriteAdapter =>
        deadline == 0 && _pendingReceive is null
            ? TIOAdapter.ReadAsync(_inner, _input.AsMemory(0, InputBufferSize), cancellationToken)
            : ReceiveWithDeadlineAsync<TIOAdapter>(deadline, cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveWithDeadlineAsync<TIOAdapter>(long deadline, CancellationToken cancellationToken)
        where TIOAdapter : IReadWriteAdapter
    {
        // Not cancelled at the deadline: a read stopped half way would lose bytes. It stays for the next pump.
        Task<int> read = _pendingReceive ??= _inner.ReadAsync(_input, 0, InputBufferSize, CancellationToken.None);
        if (!read.IsCompleted && deadline != 0)
        {
            long remaining = deadline - Environment.TickCount64;
            try
            {
                await read.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(0, remaining)), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return -1;
            }
        }
        await TIOAdapter.WaitAsync(read, cancellationToken).ConfigureAwait(false);
        _pendingReceive = null;
        return await read.ConfigureAwait(false);
    }

    // ---- The write side: write, shutdown ------------------------------------------------------

    /// <summary>Encrypts and sends <paramref name="buffer"/>, or (<paramref name="shutdown"/>) sends close_notify once.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RunWriteSideAsync<TIOAdapter>(ReadOnlyMemory<byte> buffer, bool shutdown, CancellationToken cancellationToken)
        where TIOAdapter : IReadWriteAdapter
    {
        ThrowIfNotAuthenticated();
        EnterOperation(ref _nestedWrite, "write or shutdown");
        try
        {
            ThrowIfExceptional();
            if (shutdown && _halfRttTask is not null)
            {
                await AwaitHalfRttAsync(cancellationToken).ConfigureAwait(false); // 0.5-RTT: FastSslStream.EarlyData.cs
            }
            await TIOAdapter.WaitAsync(_sendLock, cancellationToken).ConfigureAwait(false);
            try
            {
                if (shutdown && !_closeSent)
                {
                    SslIoResult result = RunEngine(EngineStep.Shutdown, default, default);
                    await SendAsync<TIOAdapter>(result.BytesWritten, result.PendingOutput, cancellationToken).ConfigureAwait(false);
                    ThrowIfExceptional();
                    await TIOAdapter.FlushAsync(_inner, cancellationToken).ConfigureAwait(false);
                    _closeSent = true;
                }
                while (!shutdown && !buffer.IsEmpty)
                {
                    ReadOnlyMemory<byte> chunk = buffer.Length > MaxPlaintextPerWrite ? buffer[..MaxPlaintextPerWrite] : buffer;
                    SslIoResult result = RunEngine(EngineStep.Write, chunk.Span, default);
                    await SendAsync<TIOAdapter>(result.BytesWritten, result.PendingOutput, cancellationToken).ConfigureAwait(false);
                    ThrowIfExceptional();
                    if (result.PlaintextBytes == 0)
                    {
                        throw Fail(new SslProtocolException(result.Status == SslStatus.Closed
                            ? "Writing to the TLS connection failed: the connection was shut down."
                            : "Writing to the TLS connection failed: OpenSSL asked to read first (renegotiation is not supported)."));
                    }
                    buffer = buffer[result.PlaintextBytes..];
                }
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception e)
        {
            ThrowSurfaced(e);
            throw;
        }
        finally
        {
            ExitOperation(ref _nestedWrite);
        }
    }

    // ---- The one engine-call path and sending --------------------------------------------------

    /// <summary>
    /// Runs one engine call under the engine lock. A fatal result becomes the stream's failure before the lock is released,
    /// so an operation racing it on the other side sees the same exception.
    /// </summary>
    private SslIoResult RunEngine(EngineStep step, ReadOnlySpan<byte> input, Span<byte> plaintext)
    {
        SslIoResult result;
        lock (EngineLock)
        {
            ThrowIfExceptional();
            SslConnection connection = _connection!;
            try
            {
                // Reads get no output buffer: their answers stay in the write BIO until sent under the send lock.
                result = step switch
                {
                    EngineStep.Handshake => connection.Handshake(input, _output),
                    EngineStep.Read => connection.Read(input, plaintext, Span<byte>.Empty),
                    EngineStep.Write when _halfRtt && connection.IsInHalfRtt => connection.WriteHalfRtt(input, _output),
                    EngineStep.Write => connection.Write(input, _output),
                    EngineStep.WriteEarlyData => connection.WriteEarlyData(input, _output),
                    EngineStep.ReadEarlyData => connection.ReadEarlyData(input, plaintext, _output),
                    _ => connection.Shutdown(_output),
                };
            }
            catch (Exception e)
            {
                // A SessionEstablished handler threw inside the call: the connection is faulted, and so is the stream.
                RecordFailure(e);
                throw;
            }
            if (result.Status == SslStatus.Failed)
            {
                string reason = string.IsNullOrEmpty(result.Error) ? $"TLS {step.ToString().ToLowerInvariant()} failed (OpenSSL gave no reason)" : result.Error;
                RecordFailure(step is EngineStep.Handshake or EngineStep.WriteEarlyData or EngineStep.ReadEarlyData
                    ? new SslHandshakeException($"{reason} ({(connection.IsServer ? "server" : "client")} side)", result.OpenSslError)
                    : new SslProtocolException(reason, result.OpenSslError));
            }
        }
        CountSessions(result);
        return result;
    }

    /// <summary>Sends what the engine call wrote to the output buffer, then whatever still waits in the write BIO.</summary>
    private ValueTask SendAsync<TIOAdapter>(int count, int pending, CancellationToken cancellationToken)
        where TIOAdapter : IReadWriteAdapter =>
        count == 0 && pending == 0 ? default : SendCoreAsync<TIOAdapter>(count, pending, cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendCoreAsync<TIOAdapter>(int count, int pending, CancellationToken cancellationToken)
        where TIOAdapter : IReadWriteAdapter
    {
        try
        {
            while (true)
            {
                if (count > 0)
                {
                    await TIOAdapter.WriteAsync(_inner, _output.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                }
                if (pending <= 0)
                {
                    return;
                }
                lock (EngineLock)
                {
                    count = _connection!.DrainOutput(_output);
                    pending = count > 0 ? _connection.PendingOutput : 0;
                }
                if (count == 0)
                {
                    return;
                }
            }
        }
        catch (Exception e)
        {
            // Part of a record may have left: the TLS stream is broken whatever the reason (the peer vanished, a cancellation).
            RecordFailure(e);
            throw;
        }
    }

    // NewSessions counts the sessions established during that call (delivered to a handler or waiting on the connection).
    private void CountSessions(in SslIoResult result)
    {
        if (result.NewSessions > 0)
        {
            Interlocked.Add(ref _sessionsReceived, result.NewSessions);
        }
    }

    // ---- Failure: one exception field ---------------------------------------------------------

    private void ThrowIfNotAuthenticated()
    {
        ExceptionDispatchInfo? exception = Volatile.Read(ref _exception);
        ObjectDisposedException.ThrowIf(ReferenceEquals(exception, s_disposedSentinel), this);
        int state = Volatile.Read(ref _state);
        if (state != StateAuthenticated)
        {
            throw new InvalidOperationException(state == StateFailed
                ? "The TLS handshake failed; the stream cannot be used."
                : "The stream has not been authenticated: call AuthenticateAsClientAsync or AuthenticateAsServerAsync first.");
        }
    }

    /// <summary>Throws the stream's failure (the first fatal error) or, once disposed, <see cref="ObjectDisposedException"/>.</summary>
    private void ThrowIfExceptional()
    {
        ExceptionDispatchInfo? exception = Volatile.Read(ref _exception);
        if (exception is null)
        {
            return;
        }
        ObjectDisposedException.ThrowIf(ReferenceEquals(exception, s_disposedSentinel), this);
        exception.Throw();
    }

    private void RecordFailure(Exception e) => Interlocked.CompareExchange(ref _exception, ExceptionDispatchInfo.Capture(e), null);

    private Exception Fail(Exception e)
    {
        RecordFailure(e);
        return e;
    }

    /// <summary>
    /// What an operation that failed with <paramref name="e"/> throws: <see cref="ObjectDisposedException"/> when the stream was
    /// disposed under it; the stream's failure when a transport or state error was only a consequence of it; else <paramref name="e"/>
    /// (returns, and the caller rethrows), recorded as the failure when it is the transport's.
    /// </summary>
    private void ThrowSurfaced(Exception e)
    {
        ExceptionDispatchInfo? exception = Volatile.Read(ref _exception);
        if (ReferenceEquals(exception, s_disposedSentinel))
        {
            if (e is not ObjectDisposedException)
            {
                throw new ObjectDisposedException(nameof(FastSslStream), "The stream was disposed while the operation ran.");
            }
            return;
        }
        if (e is ObjectDisposedException or not (IOException or InvalidOperationException))
        {
            return;
        }
        if (exception is null)
        {
            if (e is IOException)
            {
                RecordFailure(e); // the peer vanished (connection reset): no close_notify for it, and its session is invalid (S8)
            }
            return;
        }
        if (!ReferenceEquals(exception.SourceException, e))
        {
            exception.Throw();
        }
    }

    // ---- Lifetime: references, guards, clean close, release ----------------------------------

    private bool TryAddReference()
    {
        int references;
        do
        {
            references = Volatile.Read(ref _references);
            if (references == 0)
            {
                return false;
            }
        }
        while (Interlocked.CompareExchange(ref _references, references + 1, references) != references);
        return true;
    }

    /// <summary>Takes the nesting guard (a second concurrent read, or write, is refused like SslStream does) and a reference.</summary>
    private void EnterOperation(ref int nested, string kind)
    {
        if (Interlocked.Exchange(ref nested, 1) != 0)
        {
            // Dispose's close_notify holds the write guard: the stream is going, not misused.
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            throw new NotSupportedException($"A {kind} is already running on this FastSslStream; like SslStream, it allows one read and one write at a time.");
        }
        if (!TryAddReference())
        {
            Volatile.Write(ref nested, 0);
            throw new ObjectDisposedException(nameof(FastSslStream));
        }
    }

    private void ExitOperation(ref int nested)
    {
        Volatile.Write(ref nested, 0);
        Release();
    }

    private bool BeginDispose() => Interlocked.Exchange(ref _disposed, 1) == 0;

    /// <summary>
    /// Sends close_notify if the stream is healthy: authenticated, never failed, the peer not vanished (transport ended without
    /// its close_notify), and no write running (a close_notify cannot cut into its record). Completes with whether it left.
    /// </summary>
    private ValueTask<bool> StartCleanClose()
    {
        bool healthy = Volatile.Read(ref _state) == StateAuthenticated && Volatile.Read(ref _exception) is null && !_closeSent && (!_innerEof || _readClosed);
        return healthy ? CleanCloseAsync() : new ValueTask<bool>(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> CleanCloseAsync()
    {
        try
        {
            await RunWriteSideAsync<AsyncReadWriteAdapter>(ReadOnlyMemory<byte>.Empty, shutdown: true, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch
        {
            // Dispose never throws. Whatever failed (a write running, the peer gone) is the stream's failure now, and the
            // connection is freed without close_notify.
            return false;
        }
    }

    private void EndDispose(bool disposeInner)
    {
        Volatile.Write(ref _exception, s_disposedSentinel);
        if (disposeInner && !_leaveInnerStreamOpen)
        {
            _inner.Dispose(); // ends inner reads still running; their operations then release the last references
        }
        Release();
    }

    private void FreeConnectionNow()
    {
        lock (EngineLock)
        {
            if (_connection is { IsDisposed: false } connection)
            {
                connection.Dispose();
            }
        }
    }

    /// <summary>
    /// Drops one reference; the last one (the stream disposed, no operation running) hands a cleanly closed connection back to
    /// its context's pool — or frees it, an unclean close (S8) — and returns the buffers.
    /// </summary>
    private void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0)
        {
            return;
        }
        if (_connection is { IsDisposed: false } connection)
        {
            if (_connectionIsPooled && _closeSent && !connection.IsFaulted)
            {
                _connection = null; // Connection must not hand another stream's connection to this stream's user
                SslConnectionPool.Return(connection);
            }
            else
            {
                try
                {
                    connection.Dispose();
                }
                catch (InvalidOperationException)
                {
                    // The user is inside a call on Connection on another thread: its finalizer frees it (unclean, S8).
                }
            }
        }
        if (_pendingReceive is { IsCompleted: false } pending)
        {
            // An inner read nobody awaits may still write into the input buffer: it goes to the GC, not back to the pool.
            _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(_input);
        }
        ArrayPool<byte>.Shared.Return(_output);
    }
}
