using System;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace FastSession.Redis;

/// <summary>
/// Fleet-wide anti-replay for TLS 1.3 early data on Redis (<see cref="ISslEarlyDataReplayGuard"/>): the first server to see a
/// ticket's early data records it with one atomic <c>SET key 1 NX PX lifetime</c> (the key is the SHA-256 of the ticket, the
/// lifetime the ticket's); every later attempt with that ticket, on any server sharing the Redis, finds the record and its early
/// data is rejected (the handshake goes on as 1-RTT).
/// </summary>
/// <remarks>
/// Limits: the guarantee holds while the record lives, which is the ticket's whole lifetime, so a replay after it expired is a
/// ticket OpenSSL refuses anyway. A Redis outage, a timeout or an eviction under memory pressure: an unreachable store rejects
/// early data (the caller treats the exception as "reject", never as "accept"); an evicted record (a Redis without
/// <c>noeviction</c>) would let a replay through, so give this data a Redis that does not evict it. Servers that do not share
/// this Redis do not share the guarantee.
/// </remarks>
public sealed class RedisEarlyDataReplayGuard : ISslEarlyDataReplayGuard
{
    private readonly IConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly TimeSpan _timeout;
    private long _claimed;
    private long _replays;
    private long _errors;

    /// <summary>A guard over <paramref name="redis"/> (not owned) with keys under <paramref name="prefix"/>; each claim waits at most <paramref name="timeout"/> (default 100 ms).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="redis"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is not positive.</exception>
    public RedisEarlyDataReplayGuard(IConnectionMultiplexer redis, string prefix, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        TimeSpan wait = timeout ?? TimeSpan.FromMilliseconds(100);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(wait, TimeSpan.Zero, nameof(timeout));
        _redis = redis;
        _prefix = prefix;
        _timeout = wait;
    }

    /// <summary>Tickets whose early data this guard let through (first use).</summary>
    public long Claimed => Interlocked.Read(ref _claimed);

    /// <summary>Attempts refused because the ticket's early data was seen before.</summary>
    public long Replays => Interlocked.Read(ref _replays);

    /// <summary>Claims that failed or timed out (early data rejected).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>
    /// Claims <paramref name="ticketHash"/> with <c>SET … NX PX</c>: true for the first caller across the fleet, false for every later one.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="ticketHash"/> is empty, or <paramref name="lifetime"/> is not positive.</exception>
    /// <exception cref="TimeoutException">Redis did not answer within the timeout (the caller rejects the early data).</exception>
    /// <exception cref="RedisException">Redis failed (the caller rejects the early data).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<bool> TryClaimAsync(ReadOnlyMemory<byte> ticketHash, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        if (ticketHash.IsEmpty)
        {
            throw new ArgumentException("The ticket hash is empty.", nameof(ticketHash));
        }
        if (lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("The lifetime must be positive.", nameof(lifetime));
        }
        RedisKey key = $"{_prefix}:early:{Convert.ToHexStringLower(ticketHash.Span)}";
        Task<bool> call = _redis.GetDatabase().StringSetAsync(key, 1, lifetime, When.NotExists);
        (bool ok, bool first) = await Bounded.WaitAsync(call, _timeout, cancellationToken).ConfigureAwait(false);
        if (!ok)
        {
            Interlocked.Increment(ref _errors);
            throw new TimeoutException($"The early-data replay guard ({_prefix}) did not answer within {_timeout.TotalMilliseconds:0} ms or failed; early data is rejected.");
        }
        Interlocked.Increment(ref first ? ref _claimed : ref _replays);
        return first;
    }
}
