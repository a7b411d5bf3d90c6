using System;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace FastSession.Redis;

/// <summary>
/// A server session cache shared by every process of a fleet, on Redis (<see cref="ISslServerSessionStore"/>): one value
/// per session id, <c>SET … PX</c> with the session's remaining lifetime. A TLS 1.2 id is read with <c>GET</c> (reusable
/// until it expires); a TLS 1.3 stateful ticket with <c>GETDEL</c>, one atomic call, so two processes can never both
/// resume one ticket. A session whose server connection ended uncleanly is deleted (<c>DEL</c>, S8).
/// </summary>
/// <remarks>
/// Failure: each call waits at most the store's timeout and then throws (<see cref="TimeoutException"/>, or the Redis
/// client's <see cref="RedisException"/>); <see cref="SslContext"/> turns that into a miss (a full handshake) and counts it
/// (<see cref="SslContext.ServerSessionCacheCounters"/> and the <c>fastsession.server_store.errors</c> instrument), so
/// nothing reaches a connection's user. The multiplexer reconnects by itself, so resumption returns when Redis does. Calls
/// go out in order on the multiplexer's one connection, so a <c>DEL</c> is never overtaken by an earlier <c>SET</c>.
/// Bytes that are not a session are rejected by the shim (counted as garbage).
/// </remarks>
public sealed class RedisServerSessionStore : ISslServerSessionStore
{
    private readonly IConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly TimeSpan _timeout;

    /// <summary>A store over <paramref name="redis"/> (not owned) with keys under <paramref name="prefix"/>; each call waits at most <paramref name="timeout"/> (default 100 ms).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="redis"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is not positive.</exception>
    public RedisServerSessionStore(IConnectionMultiplexer redis, string prefix, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        TimeSpan wait = timeout ?? TimeSpan.FromMilliseconds(100);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(wait, TimeSpan.Zero, nameof(timeout));
        _redis = redis;
        _prefix = prefix;
        _timeout = wait;
    }

    /// <summary>Hits, misses, stores and errors of this store.</summary>
    public SessionStoreCounters Counters { get; } = new();

    /// <summary>Stores <paramref name="der"/> under the session id for <paramref name="lifetime"/> (<c>SET … PX</c>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="der"/> is null.</exception>
    /// <exception cref="TimeoutException">Redis did not answer within the store's timeout.</exception>
    /// <exception cref="RedisException">Redis is unreachable or refused the call.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<bool> AddAsync(ReadOnlyMemory<byte> sessionId, byte[] der, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(der);
        if (sessionId.IsEmpty || der.Length == 0 || lifetime <= TimeSpan.Zero)
        {
            return false;
        }
        Task<bool> call = _redis.GetDatabase().StringSetAsync(Key(sessionId.Span), der, lifetime);
        bool stored = await Counted(call, cancellationToken).ConfigureAwait(false);
        if (stored)
        {
            Counters.Store();
        }
        return stored;
    }

    /// <summary>The session stored under <paramref name="sessionId"/> (<c>GET</c>, or <c>GETDEL</c> when <paramref name="take"/>); null when none is.</summary>
    /// <exception cref="TimeoutException">Redis did not answer within the store's timeout.</exception>
    /// <exception cref="RedisException">Redis is unreachable or refused the call.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> sessionId, bool take, CancellationToken cancellationToken = default)
    {
        if (sessionId.IsEmpty)
        {
            Counters.Miss();
            return null;
        }
        IDatabase db = _redis.GetDatabase();
        RedisKey key = Key(sessionId.Span);
        Task<RedisValue> call = take ? db.StringGetDeleteAsync(key) : db.StringGetAsync(key);
        RedisValue value;
        try
        {
            value = await Counted(call, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            Counters.Miss();
            throw;
        }
        if (value.IsNull)
        {
            Counters.Miss();
            return null;
        }
        Counters.Hit();
        return (byte[]?)value;
    }

    /// <summary>Deletes the session stored under <paramref name="sessionId"/> (<c>DEL</c>). Returns whether one was.</summary>
    /// <exception cref="TimeoutException">Redis did not answer within the store's timeout.</exception>
    /// <exception cref="RedisException">Redis is unreachable or refused the call.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<bool> RemoveAsync(ReadOnlyMemory<byte> sessionId, CancellationToken cancellationToken = default)
    {
        if (sessionId.IsEmpty)
        {
            return false;
        }
        return await Counted(_redis.GetDatabase().KeyDeleteAsync(Key(sessionId.Span)), cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> Counted<T>(Task<T> call, CancellationToken cancellationToken)
    {
        try
        {
            return await Bounded.OrThrowAsync(call, _timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            Counters.Error();
            throw;
        }
    }

    private RedisKey Key(ReadOnlySpan<byte> sessionId) => $"{_prefix}:server:{Convert.ToHexStringLower(sessionId)}";
}
