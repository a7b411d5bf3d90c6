using System;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Tests.Reliability;

/// <summary>
/// A pass-through stream over a socket that, once armed, lets only the first bytes of the next write through,
/// then shuts the socket down and throws: a peer that dies in the middle of a TLS record.
/// </summary>
internal sealed class TruncatingStream : Stream
{
    private readonly NetworkStream _inner;
    private readonly Socket _socket;
    private int _allow = -1;

    public TruncatingStream(Socket socket)
    {
        _socket = socket;
        _inner = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>The next write sends at most <paramref name="bytes"/> (and always fewer than it was given), then the socket closes.</summary>
    public void TruncateNextWrite(int bytes) => Volatile.Write(ref _allow, Math.Max(0, bytes));

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => _inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => _inner.Read(buffer);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        int allow = Interlocked.Exchange(ref _allow, -1);
        if (allow < 0)
        {
            _inner.Write(buffer);
            return;
        }
        _inner.Write(buffer[..Math.Min(allow, Math.Max(0, buffer.Length - 1))]);
        Die();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int allow = Interlocked.Exchange(ref _allow, -1);
        if (allow < 0)
        {
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }
        await _inner.WriteAsync(buffer[..Math.Min(allow, Math.Max(0, buffer.Length - 1))], cancellationToken).ConfigureAwait(false);
        Die();
    }

    private void Die()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        _socket.Close();
        throw new IOException("TruncatingStream: the test cut this write short and closed the socket.");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
