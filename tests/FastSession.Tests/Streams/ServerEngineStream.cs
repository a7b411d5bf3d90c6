using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Tests.Streams;

/// <summary>
/// A client's transport wired to a server <see cref="SslConnection"/> on the same thread: what the client writes is fed to the
/// server's engine at once, and reads return what the server answered, synchronously. A FastSslStream over it completes every
/// operation without waiting, so one thread's allocation counter sees exactly what the stream allocates. Reusable: call
/// <see cref="Accept"/> before each connection.
/// </summary>
public sealed class ServerEngineStream : Stream
{
    private readonly byte[] _output = new byte[64 * 1024];
    private readonly byte[] _plaintext = new byte[16 * 1024];
    private readonly byte[] _toClient = new byte[64 * 1024];
    private SslConnection? _server;
    private int _start;
    private int _count;
    private bool _closed;

    /// <summary>Starts a connection on <paramref name="server"/> (reset by the caller).</summary>
    public void Accept(SslConnection server)
    {
        _server = server;
        _start = _count = 0;
        _closed = false;
    }

    /// <summary>Encrypts application data from the server to the client.</summary>
    public void SendFromServer(ReadOnlySpan<byte> data) => Queue(_server!.Write(data, _output));

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(_count, buffer.Length);
        _toClient.AsSpan(_start, n).CopyTo(buffer);
        _start += n;
        _count -= n;
        return n; // 0: the server has nothing to say (the client would wait forever on a socket)
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        SslConnection server = _server!;
        if (_closed)
        {
            return;
        }
        if (!server.IsHandshakeComplete)
        {
            Queue(server.Handshake(buffer, _output));
            return;
        }
        SslIoResult result = server.Read(buffer, _plaintext, _output);
        Queue(result);
        if (result.Status == SslStatus.Closed)
        {
            _closed = true;
            Queue(server.Shutdown(_output));
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return default;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Queue(SslIoResult result)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_toClient, _start, _toClient, 0, _count);
            _start = 0;
        }
        _output.AsSpan(0, result.BytesWritten).CopyTo(_toClient.AsSpan(_count));
        _count += result.BytesWritten;
    }
}
