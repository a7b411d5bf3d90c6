using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;

namespace FastSession.Redis;

/// <summary>
/// An <see cref="ISslSessionStore"/> over any <see cref="IDistributedCache"/> (Redis through
/// Microsoft.Extensions.Caching.StackExchangeRedis, SQL Server, …), for users whose store is not Redis itself.
/// One value per key (the newest session), expiring with the session.
/// </summary>
/// <remarks>
/// Single use is NOT guaranteed here: <see cref="IDistributedCache"/> has no atomic take, so a TLS 1.3 ticket is read
/// and then removed, and two processes may both use it in between (the server then refuses one resumption or, with
/// 0-RTT off, simply resumes twice). Use <see cref="RedisSslSessionStore"/> where fleet-wide single use matters.
/// Failures and garbage are misses within the bounded wait, as for every store.
/// </remarks>
public sealed class DistributedCacheSslSessionStore : ISslSessionStore
{
    private readonly IDistributedCache _cache;
    private readonly string _prefix;
    private readonly TimeSpan _timeout;

    /// <summary>A store over <paramref name="cache"/> (not owned), keys under <paramref name="prefix"/>, each call bounded by <paramref name="timeout"/> (default 100 ms).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is empty.</exception>
    public DistributedCacheSslSessionStore(IDistributedCache cache, string prefix = "fastsession", TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        _cache = cache;
        _prefix = prefix;
        _timeout = timeout ?? TimeSpan.FromMilliseconds(100);
    }

    /// <summary>Hits, misses, errors and garbage so far.</summary>
    public SessionStoreCounters Counters { get; } = new();

    /// <summary>Stores the session's DER (<c>i2d_SSL_SESSION</c>) with the session's remaining lifetime.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="session"/> was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<bool> AddAsync(SslSessionCacheKey key, SslSession session, CancellationToken cancellationToken = default)
    {
        if (session.IsNone || !session.IsResumable)
        {
            return false;
        }
        TimeSpan ttl = SessionBytes.RemainingLifetime(session);
        if (ttl < TimeSpan.FromSeconds(1))
        {
            return false;
        }
        byte[] der = session.ToDer();
        Task<bool> call = SetAsync(Key(key), der, ttl);
        (bool ok, _) = await Bounded.WaitAsync(call, _timeout, cancellationToken).ConfigureAwait(false);
        if (!ok)
        {
            Counters.Error();
            return false;
        }
        Counters.Store();
        return true;
    }

    /// <summary>Reads the key's session (<c>d2i_SSL_SESSION</c>, bound to <paramref name="context"/>); a TLS 1.3 one is then removed (not atomically).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<SslSession> TakeAsync(SslSessionCacheKey key, SslContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        string k = Key(key);
        (bool ok, byte[]? der) = await Bounded.WaitAsync(_cache.GetAsync(k, cancellationToken), _timeout, cancellationToken).ConfigureAwait(false);
        if (!ok)
        {
            Counters.Error();
            Counters.Miss();
            return default;
        }
        SslSession session = SessionBytes.Decode(der, context, Counters);
        if (!session.IsNone && session.Protocol == TlsVersion.Tls13)
        {
            (bool removed, _) = await Bounded.WaitAsync(RemoveAsync(k), _timeout, cancellationToken).ConfigureAwait(false);
            if (!removed)
            {
                Counters.Error();
            }
        }
        return session;
    }

    private async Task<bool> SetAsync(string key, byte[] der, TimeSpan ttl)
    {
        await _cache.SetAsync(key, der, new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = ttl }).ConfigureAwait(false);
        return true;
    }

    private async Task<bool> RemoveAsync(string key)
    {
        await _cache.RemoveAsync(key).ConfigureAwait(false);
        return true;
    }

    private string Key(SslSessionCacheKey key) => $"{_prefix}:session:{key.Host}:{key.Port}:{key.ApplicationProtocol}";
}
