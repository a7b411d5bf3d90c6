using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Tests.Streams;

/// <summary>A pass-through stream that can append raw bytes to its next write (in the same inner write): forged records.</summary>
public sealed class AppendingStream : PassThroughStream
{
    private byte[]? _append;

    public AppendingStream(Stream inner) : base(inner)
    {
    }

    public void AppendToNextWrite(byte[] bytes) => _append = bytes;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        byte[]? append = Interlocked.Exchange(ref _append, null);
        if (append is null)
        {
            await Inner.WriteAsync(buffer, cancellationToken);
            return;
        }
        byte[] joined = new byte[buffer.Length + append.Length];
        buffer.CopyTo(joined);
        append.CopyTo(joined.AsSpan(buffer.Length));
        await Inner.WriteAsync(joined, cancellationToken);
    }
}
