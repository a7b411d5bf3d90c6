using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Tests.Reliability;

/// <summary>What a <see cref="HostileServerStore"/> answers a call with.</summary>
public enum StoreBehavior
{
    /// <summary>An honest in-memory store: what was added under the key (the default kind of store).</summary>
    Honest,
    /// <summary>Random bytes of a random length (0 to 4 KiB), some starting like a DER SEQUENCE.</summary>
    RandomBytes,
    /// <summary>A real session, but of another context and under another id (<see cref="HostileServerStore.Foreign"/>).</summary>
    OtherContext,
    /// <summary>A real stored session followed by 1 MiB of junk, or a 4 MiB DER SEQUENCE header with nothing valid after it.</summary>
    Oversized,
    /// <summary>A task that never completes and ignores cancellation.</summary>
    NeverCompletes,
    /// <summary>Throws from the call itself, before returning a task.</summary>
    ThrowsSynchronously,
    /// <summary>Returns a task that faults later, on another thread.</summary>
    ThrowsAsynchronously,
    /// <summary>Each call picks one of the behaviors above at random.</summary>
    Random,
}

/// <summary>
/// An in-memory <see cref="ISslServerSessionStore"/> that can lie: garbage, a session of another context, oversized values, a
/// call that never completes, synchronous and asynchronous exceptions — for lookups, adds and removals alike. A store returning
/// garbage must cost the connection nothing but a full handshake (<see cref="SslContext.UseServerSessionStore"/>).
/// </summary>
public sealed class HostileServerStore(StoreBehavior behavior) : ISslServerSessionStore
{
    private static readonly StoreBehavior[] Concrete =
    [
        StoreBehavior.Honest, StoreBehavior.RandomBytes, StoreBehavior.OtherContext, StoreBehavior.Oversized,
        StoreBehavior.NeverCompletes, StoreBehavior.ThrowsSynchronously, StoreBehavior.ThrowsAsynchronously,
    ];

    private readonly ConcurrentDictionary<string, byte[]> _sessions = new();
    private long _gets, _adds, _removes;

    public StoreBehavior Behavior { get; set; } = behavior;

    /// <summary>The DER of a session some other context issued (for <see cref="StoreBehavior.OtherContext"/>).</summary>
    public byte[]? Foreign { get; set; }

    public long Gets => Interlocked.Read(ref _gets);

    public long Adds => Interlocked.Read(ref _adds);

    public long Removes => Interlocked.Read(ref _removes);

    public int Count => _sessions.Count;

    public bool Contains(ReadOnlySpan<byte> id) => _sessions.ContainsKey(Convert.ToHexString(id));

    /// <summary>The honest answer for <paramref name="id"/>, without a call (a racing thread answers a lookup with the right session).</summary>
    public bool TryPeek(ReadOnlySpan<byte> id, out byte[] der) => _sessions.TryGetValue(Convert.ToHexString(id), out der!);

    public ValueTask<bool> AddAsync(ReadOnlyMemory<byte> sessionId, byte[] der, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _adds);
        StoreBehavior now = Pick();
        // The honest part always happens for adds that do not fail, so that lookups have something real to lie about.
        return now switch
        {
            StoreBehavior.NeverCompletes => new ValueTask<bool>(new TaskCompletionSource<bool>().Task),
            StoreBehavior.ThrowsSynchronously => throw new InvalidOperationException("hostile store: add throws at once"),
            StoreBehavior.ThrowsAsynchronously => FaultLaterAsync<bool>("add"),
            _ => Keep(sessionId.Span, der),
        };
    }

    public ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> sessionId, bool take, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _gets);
        StoreBehavior now = Pick();
        string key = Convert.ToHexString(sessionId.Span);
        byte[]? honest = take ? (_sessions.TryRemove(key, out byte[]? t) ? t : null) : (_sessions.TryGetValue(key, out byte[]? g) ? g : null);
        switch (now)
        {
            case StoreBehavior.Honest:
                return ValueTask.FromResult(honest);
            case StoreBehavior.RandomBytes:
                byte[] junk = new byte[System.Random.Shared.Next(0, 4097)];
                System.Random.Shared.NextBytes(junk);
                if (junk.Length > 4 && System.Random.Shared.Next(2) == 0)
                {
                    junk[0] = 0x30; // a SEQUENCE, so d2i_SSL_SESSION parses further before it fails
                    junk[1] = 0x82;
                    junk[2] = (byte)((junk.Length - 4) >> 8);
                    junk[3] = (byte)(junk.Length - 4);
                }
                return ValueTask.FromResult<byte[]?>(junk);
            case StoreBehavior.OtherContext:
                return ValueTask.FromResult(Foreign);
            case StoreBehavior.Oversized:
                if (honest is not null && System.Random.Shared.Next(2) == 0)
                {
                    byte[] padded = new byte[honest.Length + (1 << 20)];
                    honest.CopyTo(padded, 0);
                    return ValueTask.FromResult<byte[]?>(padded);
                }
                byte[] huge = new byte[4 << 20];
                huge[0] = 0x30;
                huge[1] = 0x83;
                huge[2] = 0x3f;
                huge[3] = 0xff;
                huge[4] = 0xfb;
                return ValueTask.FromResult<byte[]?>(huge);
            case StoreBehavior.NeverCompletes:
                return new ValueTask<byte[]?>(new TaskCompletionSource<byte[]?>().Task);
            case StoreBehavior.ThrowsSynchronously:
                throw new InvalidOperationException("hostile store: get throws at once");
            default:
                return FaultLaterAsync<byte[]?>("get");
        }
    }

    public ValueTask<bool> RemoveAsync(ReadOnlyMemory<byte> sessionId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _removes);
        StoreBehavior now = Pick();
        return now switch
        {
            StoreBehavior.NeverCompletes => new ValueTask<bool>(new TaskCompletionSource<bool>().Task),
            StoreBehavior.ThrowsSynchronously => throw new InvalidOperationException("hostile store: remove throws at once"),
            StoreBehavior.ThrowsAsynchronously => FaultLaterAsync<bool>("remove"),
            _ => ValueTask.FromResult(_sessions.TryRemove(Convert.ToHexString(sessionId.Span), out _)),
        };
    }

    private ValueTask<bool> Keep(ReadOnlySpan<byte> sessionId, byte[] der)
    {
        _sessions[Convert.ToHexString(sessionId)] = der;
        return ValueTask.FromResult(true);
    }

    private StoreBehavior Pick() => Behavior == StoreBehavior.Random ? Concrete[System.Random.Shared.Next(Concrete.Length)] : Behavior;

    private static async ValueTask<T> FaultLaterAsync<T>(string what)
    {
        await Task.Yield();
        throw new TimeoutException($"hostile store: {what} fails later");
    }
}
