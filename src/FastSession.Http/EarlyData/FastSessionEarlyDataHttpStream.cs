using System;
using System.IO;
using System.Net.Security;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Http;

/// <summary>
/// An HTTP/1.1 connection of a connector with <see cref="FastSessionClientSettings.DangerousEnableReplayableEarlyData"/>: the connect
/// callback returns it before any handshake, because SocketsHttpHandler's pool may write another request than the one the
/// connection was opened for. The first write runs the handshake and, when its request line names GET, HEAD or OPTIONS, hands
/// its bytes to it as early data (<c>SSL_write_early_data</c>; written again after the handshake if the server rejected them);
/// any other first write waits for a full handshake. A read before the first write (SocketsHttpHandler's zero-byte read-ahead of
/// an idle connection) runs the handshake without early data. Like <see cref="FastSessionHttpStream"/>, an <see cref="SslStream"/>
/// whose base is never authenticated (SocketsHttpHandler reads no SslStream property of an HTTP/1.x connection).
/// </summary>
internal sealed class FastSessionEarlyDataHttpStream : SslStream
{
    private readonly FastSslStream _tls;
    private readonly FastSessionConnector _owner;
    private readonly string _host;
    private readonly int _port;
    private readonly object _gate = new();
    private Task? _handshake;
    private int _disposed;

    internal FastSessionEarlyDataHttpStream(FastSslStream tls, FastSessionConnector owner, string host, int port)
        : base(new MemoryStream(Array.Empty<byte>(), writable: true), leaveInnerStreamOpen: false)
    {
        _tls = tls;
        _owner = owner;
        _host = host;
        _port = port;
    }

    /// <summary>The FastSession stream underneath (its handshake runs at the first write).</summary>
    public FastSslStream FastSslStream => _tls;

    // The request line's method: only safe methods (RFC 9110 section 9.2.1) may travel as replayable early data. SocketsHttpHandler
    // writes the request line first and whole (its write buffer holds at least the start of the headers).
    internal static bool IsSafeRequestStart(ReadOnlySpan<byte> first) =>
        first.StartsWith("GET "u8) || first.StartsWith("HEAD "u8) || first.StartsWith("OPTIONS "u8);

    // Starts the handshake once; consumed: the write's bytes went to the handshake (as early data, or after it when rejected).
    private Task StartHandshake(ReadOnlyMemory<byte> firstWrite, CancellationToken cancellationToken, out bool consumed)
    {
        lock (_gate)
        {
            if (_handshake is not null)
            {
                consumed = false;
                return _handshake;
            }
            ReadOnlyMemory<byte> early = IsSafeRequestStart(firstWrite.Span) ? firstWrite : default;
            consumed = !early.IsEmpty;
            _handshake = _owner.HandshakeDeferredAsync(_tls, _host, _port, early, cancellationToken);
            return _handshake;
        }
    }

    private bool HandshakeDone => Volatile.Read(ref _handshake) is { IsCompletedSuccessfully: true };

    private async ValueTask WriteFirstAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        // The handshake task may hold buffer as early data: this write completes only after it, so the caller cannot reuse it before.
        Task handshake = StartHandshake(buffer, cancellationToken, out bool consumed);
        await handshake.ConfigureAwait(false);
        if (!consumed)
        {
            await _tls.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<int> ReadFirstAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await StartHandshake(default, cancellationToken, out _).ConfigureAwait(false);
        return await _tls.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override bool CanRead => _tls.CanRead;

    /// <inheritdoc />
    public override bool CanWrite => _tls.CanWrite;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanTimeout => _tls.CanTimeout;

    /// <inheritdoc />
    public override int ReadTimeout { get => _tls.ReadTimeout; set => _tls.ReadTimeout = value; }

    /// <inheritdoc />
    public override int WriteTimeout { get => _tls.WriteTimeout; set => _tls.WriteTimeout = value; }

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        HandshakeDone ? _tls.ReadAsync(buffer, cancellationToken) : ReadFirstAsync(buffer, cancellationToken);

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Synchronous calls (HttpClient.Send) before the handshake wait for the asynchronous handshake: FastSslStream has no synchronous
    // handshake with early data, and this happens once per connection.
    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        if (!HandshakeDone)
        {
            StartHandshake(default, CancellationToken.None, out _).GetAwaiter().GetResult();
        }
        return _tls.Read(buffer);
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    /// <inheritdoc />
    public override IAsyncResult BeginRead(byte[] buffer, int offset, int count, AsyncCallback? asyncCallback, object? asyncState) =>
        TaskToAsyncResult.Begin(ReadAsync(buffer, offset, count, CancellationToken.None), asyncCallback, asyncState);

    /// <inheritdoc />
    public override int EndRead(IAsyncResult asyncResult) => TaskToAsyncResult.End<int>(asyncResult);

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        HandshakeDone ? _tls.WriteAsync(buffer, cancellationToken) : WriteFirstAsync(buffer, cancellationToken);

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (HandshakeDone)
        {
            _tls.Write(buffer);
            return;
        }
        WriteFirstAsync(buffer.ToArray(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void WriteByte(byte value) => Write([value]);

    /// <inheritdoc />
    public override IAsyncResult BeginWrite(byte[] buffer, int offset, int count, AsyncCallback? asyncCallback, object? asyncState) =>
        TaskToAsyncResult.Begin(WriteAsync(buffer, offset, count, CancellationToken.None), asyncCallback, asyncState);

    /// <inheritdoc />
    public override void EndWrite(IAsyncResult asyncResult) => TaskToAsyncResult.End(asyncResult);

    /// <inheritdoc />
    public override void Flush()
    {
        if (HandshakeDone)
        {
            _tls.Flush();
        }
    }

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => HandshakeDone ? _tls.FlushAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>Sends close_notify (<c>SSL_shutdown</c>) once the handshake ran; before it there is nothing to close cleanly.</summary>
    public override Task ShutdownAsync() => HandshakeDone ? _tls.ShutdownAsync() : Task.CompletedTask;

    /// <summary>Starts the clean close and returns at once, as <see cref="FastSessionHttpStream"/> does (the connector waits for it).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            HttpStreamClose.Start(_tls, _owner, ref _disposed);
        }
        base.Dispose(disposing);
    }

    /// <summary>Sends close_notify (bounded, through <see cref="FastSslStream"/>'s dispose), then frees the connection and the socket.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _tls.DisposeAsync().ConfigureAwait(false);
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
