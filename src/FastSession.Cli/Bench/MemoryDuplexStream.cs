using System;
using System.Buffers;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;

namespace FastSession.Cli.Bench;

/// <summary>
/// Two connected in-process streams (what one writes, the other reads), so SslStream and FastSslStream can run over the
/// same memory transport without sockets. Closing one end makes the other's reads return 0 after the buffered bytes.
/// </summary>
internal sealed class MemoryDuplexStream : Stream
{
    private readonly Channel _in;
    private readonly Channel _out;
    private int _disposed;

    private MemoryDuplexStream(Channel input, Channel output)
    {
        _in = input;
        _out = output;
    }

    /// <summary>Creates a connected pair.</summary>
    public static (MemoryDuplexStream Client, MemoryDuplexStream Server) CreatePair()
    {
        var toServer = new Channel();
        var toClient = new Channel();
        return (new MemoryDuplexStream(toClient, toServer), new MemoryDuplexStream(toServer, toClient));
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _in.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _in.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        _in.ReadAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        _out.Write(buffer.Span);
        return default;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer, offset, count);
        return Task.CompletedTask;
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        _out.Write(buffer.AsSpan(offset, count));
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _out.Complete();
            _in.Complete();
        }
        base.Dispose(disposing);
    }

    /// <summary>
    /// One direction: a byte buffer rented from the shared pool while bytes wait (returned when drained), and at most one
    /// waiting reader, completed through a reusable <see cref="IValueTaskSource{TResult}"/>: the transport itself allocates
    /// nothing per read, so the bytes the benchmark reports are the TLS implementations' and the connection script's.
    /// </summary>
    private sealed class Channel : IValueTaskSource<int>
    {
        private readonly object _lock = new();
        private byte[]? _buffer;
        private int _start;
        private int _count;
        private bool _completed;
        // The waiting reader: its destination, its cancellation, and the completion it awaits.
        private bool _waiting;
        private Memory<byte> _destination;
        private CancellationTokenRegistration _registration;
        private ManualResetValueTaskSourceCore<int> _core = new() { RunContinuationsAsynchronously = true };

        public void Write(ReadOnlySpan<byte> data)
        {
            if (data.IsEmpty)
            {
                return;
            }
            int delivered;
            lock (_lock)
            {
                if (_completed)
                {
                    return; // The reader is gone: like a socket whose peer closed, the bytes go nowhere.
                }
                delivered = 0;
                if (_waiting)
                {
                    delivered = Math.Min(data.Length, _destination.Length);
                    data[..delivered].CopyTo(_destination.Span);
                    data = data[delivered..];
                    _waiting = false;
                    _destination = default;
                }
                if (!data.IsEmpty)
                {
                    Append(data);
                }
            }
            if (delivered > 0)
            {
                _core.SetResult(delivered);
            }
        }

        public void Complete()
        {
            bool wake;
            lock (_lock)
            {
                _completed = true;
                wake = _waiting;
                _waiting = false;
            }
            if (wake)
            {
                _core.SetResult(0);
            }
        }

        public ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                if (_count > 0)
                {
                    return new ValueTask<int>(Take(destination.Span));
                }
                if (_completed || destination.IsEmpty)
                {
                    return new ValueTask<int>(0);
                }
                _core.Reset();
                _waiting = true;
                _destination = destination;
                // Registered under the lock, so a cancellation can only find this read waiting or not at all.
                _registration = cancellationToken.UnsafeRegister(static state => ((Channel)state!).Cancel(), this);
                return new ValueTask<int>(this, _core.Version);
            }
        }

        public int GetResult(short token)
        {
            _registration.Dispose();
            return _core.GetResult(token);
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);

        private void Cancel()
        {
            lock (_lock)
            {
                if (!_waiting)
                {
                    return;
                }
                _waiting = false;
                _destination = default;
            }
            _core.SetException(new OperationCanceledException("The memory transport's read was cancelled."));
        }

        private void Append(ReadOnlySpan<byte> data)
        {
            if (_buffer is null)
            {
                _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(4096, data.Length));
                _start = 0;
            }
            else if (_start + _count + data.Length > _buffer.Length)
            {
                byte[] target = _count + data.Length <= _buffer.Length ? _buffer : ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _count + data.Length));
                Buffer.BlockCopy(_buffer, _start, target, 0, _count);
                if (!ReferenceEquals(target, _buffer))
                {
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = target;
                }
                _start = 0;
            }
            data.CopyTo(_buffer.AsSpan(_start + _count));
            _count += data.Length;
        }

        private int Take(Span<byte> destination)
        {
            int n = Math.Min(_count, destination.Length);
            _buffer.AsSpan(_start, n).CopyTo(destination);
            _start += n;
            _count -= n;
            if (_count == 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer!);
                _buffer = null;
                _start = 0;
            }
            return n;
        }
    }
}
