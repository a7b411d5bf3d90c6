using System.Threading;

namespace FastSession.Redis;

/// <summary>
/// Outcome counters of a distributed session store. Proposed instrument names for the <c>FastSession</c> meter:
/// <c>fastsession.session_store.hits</c>, <c>.misses</c>, <c>.stored</c>, <c>.errors</c> (slow or down store:
/// the handshake went on without it), <c>.garbage</c> (bytes that were not a session: a miss).
/// </summary>
public sealed class SessionStoreCounters
{
    private long _hits;
    private long _misses;
    private long _stored;
    private long _errors;
    private long _garbage;

    /// <summary>Takes that returned a session.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Takes that returned none (including errors and garbage).</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Sessions written.</summary>
    public long Stored => Interlocked.Read(ref _stored);

    /// <summary>Calls that failed or ran past the bounded wait.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Values that did not decode to a resumable session.</summary>
    public long Garbage => Interlocked.Read(ref _garbage);

    /// <inheritdoc />
    public override string ToString() => $"hits {Hits}, misses {Misses}, stored {Stored}, errors {Errors}, garbage {Garbage}";

    internal void Hit() => Interlocked.Increment(ref _hits);

    internal void Miss() => Interlocked.Increment(ref _misses);

    internal void Store() => Interlocked.Increment(ref _stored);

    internal void Error() => Interlocked.Increment(ref _errors);

    internal void Junk() => Interlocked.Increment(ref _garbage);
}
