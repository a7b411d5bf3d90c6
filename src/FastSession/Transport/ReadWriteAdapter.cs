using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession;

/// <summary>
/// How <see cref="FastSslStream"/> waits: the stream's one pump is generic over this, so the synchronous
/// (<see cref="Stream.Read(byte[], int, int)"/>) and asynchronous paths are the same code (dotnet/runtime's
/// <c>ReadWriteAdapter</c>). A struct type argument makes the JIT specialise each path: no flag is tested at run time.
/// </summary>
internal interface IReadWriteAdapter
{
    static abstract ValueTask<int> ReadAsync(Stream stream, System.Memory<byte> buffer, CancellationToken cancellationToken);

    static abstract ValueTask WriteAsync(Stream stream, System.ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken);

    static abstract ValueTask FlushAsync(Stream stream, CancellationToken cancellationToken);

    static abstract ValueTask WaitAsync(SemaphoreSlim semaphore, CancellationToken cancellationToken);

    /// <summary>Waits for <paramref name="task"/> to end; its outcome is read by awaiting it afterwards.</summary>
    static abstract ValueTask WaitAsync(Task task, CancellationToken cancellationToken);
}

/// <summary>Completes every wait before returning: the returned <see cref="ValueTask"/> is always complete.</summary>
internal readonly struct SyncReadWriteAdapter : IReadWriteAdapter
{
    public static ValueTask<int> ReadAsync(Stream stream, System.Memory<byte> buffer, CancellationToken cancellationToken) =>
        new(stream.Read(buffer.Span));

    public static ValueTask WriteAsync(Stream stream, System.ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        stream.Write(buffer.Span);
        return default;
    }

    public static ValueTask FlushAsync(Stream stream, CancellationToken cancellationToken)
    {
        stream.Flush();
        return default;
    }

    public static ValueTask WaitAsync(SemaphoreSlim semaphore, CancellationToken cancellationToken)
    {
        semaphore.Wait(cancellationToken);
        return default;
    }

    public static ValueTask WaitAsync(Task task, CancellationToken cancellationToken)
    {
        try
        {
            task.Wait(cancellationToken);
        }
        catch (System.AggregateException)
        {
            // The task's own exception is thrown where it is awaited next.
        }
        return default;
    }
}

/// <summary>Awaits the inner stream's asynchronous members.</summary>
internal readonly struct AsyncReadWriteAdapter : IReadWriteAdapter
{
    public static ValueTask<int> ReadAsync(Stream stream, System.Memory<byte> buffer, CancellationToken cancellationToken) =>
        stream.ReadAsync(buffer, cancellationToken);

    public static ValueTask WriteAsync(Stream stream, System.ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken) =>
        stream.WriteAsync(buffer, cancellationToken);

    public static ValueTask FlushAsync(Stream stream, CancellationToken cancellationToken) =>
        new(stream.FlushAsync(cancellationToken));

    public static ValueTask WaitAsync(SemaphoreSlim semaphore, CancellationToken cancellationToken) =>
        new(semaphore.WaitAsync(cancellationToken));

    public static ValueTask WaitAsync(Task task, CancellationToken cancellationToken) =>
        task.IsCompleted ? default : new(task.WaitAsync(cancellationToken));
}
