using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession;

/// <content>
/// TLS 1.3 early data (0-RTT) on the stream. A client hands its first bytes to the handshake: they leave with the ClientHello
/// (<c>SSL_write_early_data</c>) when its session allows, and are written again after the handshake when the server rejected them,
/// so the peer receives them exactly once either way. A server with early data on reads it during the handshake
/// (<c>SSL_read_early_data</c>, the decision taken outside OpenSSL) and returns it first from reads.
/// </content>
public sealed partial class FastSslStream
{
    private ReadOnlyMemory<byte> _earlyData;
    private int _earlyDataWritten;
    private byte[]? _earlyReceived;
    private int _earlyReceivedLength;
    private int _earlyReceivedOffset;
    private SslEarlyDataStatus _earlyDataStatus;
    private SslEarlyDataReason _earlyDataReason;
    // Server: authenticated with accepted early data before the client's Finished (0.5-RTT); reads and the close complete it.
    private volatile bool _halfRtt;
    // 0.5-RTT: the task that reads the rest of the early data, the client's EndOfEarlyData and Finished, and sends the tickets,
    // as AuthenticateAsServerAsync would have, while the application already answers. Reads past the early data and the close
    // wait for it; it never throws (a failure is the stream's).
    private Task? _halfRttTask;

    /// <summary>
    /// Runs the client handshake like <see cref="AuthenticateAsClientAsync(SslContext, string?, SslSession, CancellationToken)"/> and
    /// sends <paramref name="earlyData"/> as TLS 1.3 early data with the ClientHello when <paramref name="resumeWith"/> allows it
    /// (<c>SSL_write_early_data</c>; the context needs <see cref="SslContextOptions.DangerousEnableReplayableEarlyData"/>). What was not
    /// sent early, or was rejected, is written after the handshake before this returns: the server receives the bytes exactly once.
    /// Send only requests that are safe to replay. <paramref name="earlyData"/> must stay unchanged until the task completes.
    /// </summary>
    /// <exception cref="SslHandshakeException">The handshake failed or the peer hung up; the connection is freed.</exception>
    /// <exception cref="IOException">The inner stream failed.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a server context, or <paramref name="resumeWith"/> is not resumable.</exception>
    /// <exception cref="SslContextMismatchException"><paramref name="resumeWith"/> belongs to another context (S12).</exception>
    /// <exception cref="InvalidOperationException">Early data is off on <paramref name="context"/>, the stream was already authenticated, or an earlier authentication failed.</exception>
    /// <exception cref="ObjectDisposedException">The stream or the context was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the connection is freed.</exception>
    public Task AuthenticateAsClientAsync(SslContext context, string? serverName, SslSession resumeWith, ReadOnlyMemory<byte> earlyData, CancellationToken cancellationToken = default)
    {
        RequireContext(context, server: false);
        RequireEarlyData(context);
        return StartHandshake(context, serverName, resumeWith, null, default, cancellationToken, earlyData);
    }

    /// <summary>
    /// Runs the client handshake with a session cache like <see cref="AuthenticateAsClientAsync(SslContext, string, int, SslClientSessionCache, string?, CancellationToken)"/>
    /// and sends <paramref name="earlyData"/> as early data when the cached session allows it; rejected or unsent bytes are written
    /// after the handshake before this returns.
    /// </summary>
    /// <exception cref="SslHandshakeException">The handshake failed or the peer hung up; the connection is freed.</exception>
    /// <exception cref="IOException">The inner stream failed.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a server context, or <paramref name="host"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not 0-65535.</exception>
    /// <exception cref="InvalidOperationException">Early data is off on <paramref name="context"/>, the stream was already authenticated, or an earlier authentication failed.</exception>
    /// <exception cref="ObjectDisposedException">The stream, the context or the cache was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the connection is freed.</exception>
    public Task AuthenticateAsClientAsync(SslContext context, string host, int port, SslClientSessionCache cache, ReadOnlyMemory<byte> earlyData, string? applicationProtocol = null, CancellationToken cancellationToken = default)
    {
        RequireContext(context, server: false);
        RequireEarlyData(context);
        return AuthenticateWithCacheAsync(context, host, port, cache, applicationProtocol, earlyData, cancellationToken);
    }

    /// <summary>What happened to this connection's early data (<c>SSL_get_early_data_status</c>, read when the handshake completed).</summary>
    public SslEarlyDataStatus EarlyDataStatus => _earlyDataStatus;

    /// <summary>Why early data was not sent or not accepted (<see cref="SslConnection.EarlyDataReason"/>, read when the handshake completed).</summary>
    public SslEarlyDataReason EarlyDataReason => _earlyDataReason;

    /// <summary>
    /// Server: how many of the first bytes this stream's reads return arrived as early data (0-RTT, replayable by an attacker);
    /// 0 when none was accepted. An application must treat those bytes as possibly replayed (e.g. HTTP: only safe methods, else 425).
    /// Client: the bytes of the early data that the server accepted.
    /// </summary>
    public int EarlyDataLength => IsServer ? _earlyReceivedLength : _earlyDataStatus == SslEarlyDataStatus.Accepted ? _earlyDataWritten : 0;

    private static void RequireEarlyData(SslContext context)
    {
        if (!context.EarlyDataEnabled)
        {
            throw new InvalidOperationException("Early data is off on this context: set DangerousEnableReplayableEarlyData (and read README, \"0-RTT\").");
        }
    }

    // HandshakeAsync, before the pump: a client writes its early data with the ClientHello; a server with early data on reads it
    // (SSL_read_early_data) until OpenSSL says the early data is over, then the pump finishes the handshake.
    private async ValueTask EarlyDataPhaseAsync(CancellationToken cancellationToken)
    {
        SslConnection connection = _connection!;
        if (!connection.IsServer)
        {
            if (_earlyData.IsEmpty)
            {
                return;
            }
            if (connection.MaxEarlyDataToSend == 0)
            {
                connection.NoteEarlyDataNotSendable(); // the reason; the bytes go after the handshake
                return;
            }
            SslIoResult written = RunEngine(EngineStep.WriteEarlyData, _earlyData.Span, default);
            _earlyDataWritten = written.PlaintextBytes;
            await SendAsync<AsyncReadWriteAdapter>(written.BytesWritten, written.PendingOutput, cancellationToken).ConfigureAwait(false);
            ThrowIfExceptional();
            return;
        }
        if (!connection.Context.EarlyDataEnabled || connection.Context.MaxEarlyData == 0)
        {
            return;
        }
        _earlyReceived = new byte[Math.Min(connection.Context.MaxEarlyData, 64 * 1024) + 1];
        await ReadEarlyDataAsync(sendLocked: false, cancellationToken).ConfigureAwait(false);
    }

    // Server: runs SSL_read_early_data until the early data is over (then _engineHoldsInput: the client's Finished may already be
    // in the engine), or until new early data was read and the engine wants more input: then the stream is authenticated in
    // 0.5-RTT (_halfRtt) and answers the early request before the client's Finished arrives; the next read (or the close) goes on.
    // sendLocked: a writer may be running (0.5-RTT), so each engine call and its output happen under the send lock.
    private async ValueTask<bool> ReadEarlyDataAsync(bool sendLocked, CancellationToken cancellationToken)
    {
        SslConnection connection = _connection!;
        int start = _earlyReceivedLength;
        long received = 0;
        while (!connection.IsEarlyDataFinished)
        {
            int count = 0;
            if (!_engineHoldsInput)
            {
                if (_earlyReceivedLength > start && connection.EarlyDataStatus == SslEarlyDataStatus.Accepted)
                {
                    _halfRtt = true;
                    return true;
                }
                count = await ReceiveAsync<AsyncReadWriteAdapter>(0, cancellationToken).ConfigureAwait(false);
                if (count == 0)
                {
                    _innerEof = true;
                    throw Fail(new SslHandshakeException(received == 0 && !_halfRtt
                        ? "The peer closed the connection before sending any TLS handshake data."
                        : $"The peer closed the connection during the TLS handshake (after {received} bytes)."));
                }
                received += count;
            }
            SslIoResult result;
            if (sendLocked)
            {
                await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            try
            {
                // Under the engine lock: in 0.5-RTT a read may take the bytes already there (TryReadEarlyReceived) meanwhile.
                lock (EngineLock)
                {
                    if (_earlyReceivedLength == _earlyReceived!.Length)
                    {
                        Array.Resize(ref _earlyReceived, _earlyReceived.Length * 2); // recv_max_early_data bounds what OpenSSL decrypts
                    }
                    result = RunEngine(EngineStep.ReadEarlyData, _input.AsSpan(0, count), _earlyReceived.AsSpan(_earlyReceivedLength));
                    _earlyReceivedLength += result.PlaintextBytes;
                }
                await SendAsync<AsyncReadWriteAdapter>(result.BytesWritten, result.PendingOutput, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (sendLocked)
                {
                    _sendLock.Release();
                }
            }
            _engineHoldsInput = result.Status != SslStatus.NeedsInput;
            switch (result.Status)
            {
                case SslStatus.Failed:
                    ThrowIfExceptional();
                    break;
                case SslStatus.Closed:
                    throw Fail(new SslHandshakeException("The peer closed the TLS connection (close_notify) during the handshake."));
                case SslStatus.NeedsSessionLookup when connection.IsEarlyDataDecisionPending:
                    await connection.DecideEarlyDataAsync(cancellationToken).ConfigureAwait(false);
                    break;
                case SslStatus.NeedsSessionLookup:
                    await connection.LookUpSessionAsync(cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
        _engineHoldsInput = true; // the client's Finished may already be in the engine
        return false;
    }

    // HandshakeAsync in 0.5-RTT: runs ContinueHalfRttCoreAsync in the background, holding a reference (the buffers stay). A failure
    // is recorded as the stream's (reads and the close then throw it / skip close_notify); after Dispose it ends quietly.
    private void StartHalfRtt()
    {
        if (!TryAddReference())
        {
            return;
        }
        _halfRttTask = Task.Run(async () =>
        {
            try
            {
                while (_halfRtt)
                {
                    await ContinueHalfRttCoreAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                RecordFailure(e is SslHandshakeException or ObjectDisposedException ? e : new SslHandshakeException($"The TLS handshake failed after the early data: {e.Message}"));
            }
            finally
            {
                Release();
            }
        });
    }

    // ReadCoreAsync past the early data, and the close (before close_notify, which SSL_shutdown cannot send in the handshake):
    // waits for the rest of the handshake. Dispose bounds the close's wait (one second).
    private async ValueTask AwaitHalfRttAsync(CancellationToken cancellationToken)
    {
        if (_halfRttTask is { IsCompleted: false } task)
        {
            await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        ThrowIfExceptional();
    }

    // Reads further early data (returns with it, _halfRtt still true), or, once it is over, the client's EndOfEarlyData and
    // Finished, and sends the tickets (returns with _halfRtt false). A writer may run meanwhile: each engine call and its output
    // take the send lock.
    private async ValueTask ContinueHalfRttCoreAsync(CancellationToken cancellationToken)
    {
        SslConnection connection = _connection!;
        if (!connection.IsEarlyDataFinished)
        {
            if (await ReadEarlyDataAsync(sendLocked: true, cancellationToken).ConfigureAwait(false))
            {
                return; // more early data to return first
            }
        }
        while (true)
        {
            int count = 0;
            if (!_engineHoldsInput)
            {
                count = _innerEof ? 0 : await ReceiveAsync<AsyncReadWriteAdapter>(0, cancellationToken).ConfigureAwait(false);
                if (count == 0)
                {
                    _innerEof = true;
                    throw Fail(new SslHandshakeException("The peer closed the connection during the TLS handshake (after its early data)."));
                }
            }
            SslIoResult result;
            await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                result = RunEngine(EngineStep.Handshake, _input.AsSpan(0, count), default);
                await SendAsync<AsyncReadWriteAdapter>(result.BytesWritten, result.PendingOutput, cancellationToken).ConfigureAwait(false);
                if (result.Status == SslStatus.Completed)
                {
                    await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                _sendLock.Release();
            }
            _engineHoldsInput = result.IsCompleted;
            switch (result.Status)
            {
                case SslStatus.Failed:
                    ThrowIfExceptional();
                    break;
                case SslStatus.Closed:
                    throw Fail(new SslHandshakeException("The peer closed the TLS connection (close_notify) during the handshake."));
                case SslStatus.Completed:
                    _halfRtt = false;
                    _engineHoldsInput = true; // application data that came with the Finished waits in the engine
                    return;
            }
        }
    }

    // HandshakeAsync, once authenticated: records the outcome; a client writes what did not travel as accepted early data.
    private async ValueTask CompleteEarlyDataAsync(CancellationToken cancellationToken)
    {
        SslConnection connection = _connection!;
        if (!connection.Context.EarlyDataEnabled)
        {
            return;
        }
        lock (EngineLock)
        {
            _earlyDataStatus = connection.EarlyDataStatus;
            _earlyDataReason = connection.EarlyDataReason;
        }
        if (connection.IsServer || _earlyData.IsEmpty)
        {
            return;
        }
        ReadOnlyMemory<byte> rest = _earlyDataStatus == SslEarlyDataStatus.Accepted ? _earlyData[_earlyDataWritten..] : _earlyData;
        _earlyData = default;
        if (!rest.IsEmpty)
        {
            await RunWriteSideAsync<AsyncReadWriteAdapter>(rest, shutdown: false, cancellationToken).ConfigureAwait(false);
        }
    }

    // ReadCoreAsync: early data read during the handshake comes first.
    private bool TryReadEarlyReceived(Span<byte> buffer, out int read)
    {
        read = 0;
        if (_earlyReceived is null || _earlyReceivedOffset >= _earlyReceivedLength)
        {
            return false;
        }
        if (buffer.IsEmpty)
        {
            return true; // data is there: the peek is answered
        }
        lock (EngineLock) // 0.5-RTT: the handshake task may be appending (and resizing) meanwhile
        {
            read = Math.Min(buffer.Length, _earlyReceivedLength - _earlyReceivedOffset);
            _earlyReceived.AsSpan(_earlyReceivedOffset, read).CopyTo(buffer);
            _earlyReceivedOffset += read;
        }
        return true;
    }
}
