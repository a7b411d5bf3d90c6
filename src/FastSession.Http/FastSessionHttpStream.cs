using System;
using System.IO;
using System.Net.Security;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Http;

/// <summary>
/// The hand-over to <see cref="System.Net.Http.SocketsHttpHandler"/>: since .NET 7 a <c>ConnectCallback</c> may return an
/// authenticated <see cref="SslStream"/> (or a subclass) and the handler then runs no TLS of its own (dotnet/runtime PR 63851).
/// SslStream is not sealed and its I/O members are virtual, so this subclass sends every read, write, flush and dispose to the
/// <see cref="FastSslStream"/> that did the handshake. SslStream's non-virtual properties (<c>NegotiatedApplicationProtocol</c>,
/// <c>SslProtocol</c>, <c>RemoteCertificate</c>, <c>TransportContext</c>, …) read the base's own state: for a connection that may
/// carry HTTP/2 the base is authenticated in memory with the real connection's ALPN protocol (see <c>AlpnMirror</c>), so the
/// ALPN is true and the other properties describe that in-memory mirror, not the server: read the connection's facts from
/// <see cref="FastSslStream"/>. For HTTP/1.x-only connections the base is left unauthenticated (SocketsHttpHandler does not ask).
/// </summary>
public sealed class FastSessionHttpStream : SslStream
{
    private readonly FastSslStream _tls;
    private readonly FastSessionConnector? _owner;
    private int _disposed;

    private FastSessionHttpStream(FastSslStream tls, Stream mirror, FastSessionConnector? owner) : base(mirror, leaveInnerStreamOpen: false)
    {
        _tls = tls;
        _owner = owner;
    }

    internal static async ValueTask<FastSessionHttpStream> CreateAsync(FastSslStream tls, bool mayCarryHttp2, FastSessionConnector? owner, CancellationToken cancellationToken)
    {
        if (!mayCarryHttp2)
        {
            // SocketsHttpHandler reads no SslStream property of an HTTP/1.x connection: the base needs no mirror, nor pipes.
            // (AuthenticatedStream refuses Stream.Null and read-only streams; an empty MemoryStream holds no buffer.)
            return new FastSessionHttpStream(tls, new MemoryStream(Array.Empty<byte>(), writable: true), owner);
        }
        (Stream client, Stream server) = AlpnMirror.CreatePair();
        var stream = new FastSessionHttpStream(tls, client, owner);
        try
        {
            await AlpnMirror.AuthenticateAsync(stream, server, tls.Connection.GetApplicationProtocol(), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            stream.DisposeMirrorOnly();
            throw;
        }
        return stream;
    }

    private void DisposeMirrorOnly()
    {
        Interlocked.Exchange(ref _disposed, 1);
        base.Dispose(true);
    }

    /// <summary>The FastSession stream underneath: its <see cref="FastSslStream.Connection"/> has the session facts.</summary>
    public FastSslStream FastSslStream => _tls;

    /// <summary>Whether the handshake resumed a session (<c>SSL_session_reused</c>).</summary>
    public bool SessionReused => _tls.SessionReused;

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
    public override int Read(byte[] buffer, int offset, int count) => _tls.Read(buffer, offset, count);

    /// <inheritdoc />
    public override int Read(Span<byte> buffer) => _tls.Read(buffer);

    /// <inheritdoc />
    public override int ReadByte() => _tls.ReadByte();

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _tls.ReadAsync(buffer, offset, count, cancellationToken);

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _tls.ReadAsync(buffer, cancellationToken);

    /// <inheritdoc />
    public override IAsyncResult BeginRead(byte[] buffer, int offset, int count, AsyncCallback? asyncCallback, object? asyncState) =>
        TaskToAsyncResult.Begin(_tls.ReadAsync(buffer, offset, count, CancellationToken.None), asyncCallback, asyncState);

    /// <inheritdoc />
    public override int EndRead(IAsyncResult asyncResult) => TaskToAsyncResult.End<int>(asyncResult);

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => _tls.Write(buffer, offset, count);

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer) => _tls.Write(buffer);

    /// <inheritdoc />
    public override void WriteByte(byte value) => _tls.WriteByte(value);

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _tls.WriteAsync(buffer, offset, count, cancellationToken);

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _tls.WriteAsync(buffer, cancellationToken);

    /// <inheritdoc />
    public override IAsyncResult BeginWrite(byte[] buffer, int offset, int count, AsyncCallback? asyncCallback, object? asyncState) =>
        TaskToAsyncResult.Begin(_tls.WriteAsync(buffer, offset, count, CancellationToken.None), asyncCallback, asyncState);

    /// <inheritdoc />
    public override void EndWrite(IAsyncResult asyncResult) => TaskToAsyncResult.End(asyncResult);

    /// <inheritdoc />
    public override void Flush() => _tls.Flush();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => _tls.FlushAsync(cancellationToken);

    /// <summary>Sends close_notify (<c>SSL_shutdown</c>), the clean close that keeps the session resumable (S8).</summary>
    public override Task ShutdownAsync() => _tls.ShutdownAsync();

    /// <summary>
    /// Starts the clean close and returns at once: <see cref="FastSslStream"/>'s dispose sends close_notify (bounded to one second)
    /// and frees the connection and the socket; the connector waits for pending closes when it is disposed.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            HttpStreamClose.Start(_tls, _owner, ref _disposed);
        }
        base.Dispose(disposing);
    }

    /// <summary>Sends close_notify (bounded to one second, through <see cref="FastSslStream"/>'s dispose), then frees the connection and the socket.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _tls.DisposeAsync().ConfigureAwait(false);
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
