using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Tests.Streams;

/// <summary>A pass-through stream that can append raw bytes to its next write (in the same inner write): forged records.</summary>
public sealed class AppendingStream : Stream
{
    private readonly Stream _inner;
    private byte[]? _append;

    public AppendingStream(Stream inner) => _inner = inner;

    public void AppendToNextWrite(byte[] bytes) => _append = bytes;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        byte[]? append = Interlocked.Exchange(ref _append, null);
        if (append is null)
        {
            await _inner.WriteAsync(buffer, cancellationToken);
            return;
        }
        byte[] joined = new byte[buffer.Length + append.Length];
        buffer.CopyTo(joined);
        append.CopyTo(joined.AsSpan(buffer.Length));
        await _inner.WriteAsync(joined, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
