using System;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace FastSession.Redis;

/// <summary>Settings of <see cref="RedisSslSessionStore"/>.</summary>
public sealed class RedisSessionStoreOptions
{
    /// <summary>The bounded wait for one Redis call; past it the handshake goes on as a full one. Default 100 ms.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>TLS 1.3 tickets kept per key (newest first). Default 8.</summary>
    public int TicketsPerKey { get; set; } = 8;
}

/// <summary>
/// A client session store shared by every process of a fleet, on Redis. TLS 1.3 tickets are single use across the
/// fleet: they sit in a list per key and a take is one atomic <c>LPOP</c> (inside a script that falls back to the
/// key's TLS 1.2 session), so two processes can never both take one ticket. TLS 1.2 sessions are one value per key,
/// reused until they expire (<c>SET … EX</c> with the session's remaining lifetime).
/// </summary>
/// <remarks>
/// Failure: each call waits at most <see cref="RedisSessionStoreOptions.Timeout"/>; a slow or down Redis, or bytes
/// that are not a session, give a miss (a full handshake) and a count in <see cref="Counters"/>, never an exception
/// (except cancellation by the caller's own token). The multiplexer reconnects by itself, so resumption returns when
/// Redis does.
/// </remarks>
public sealed class RedisSslSessionStore : ISslSessionStore
{
    // KEYS[1] = TLS 1.3 list, KEYS[2] = TLS 1.2 value.
    private const string TakeScript = """
        local v = redis.call('LPOP', KEYS[1])
        if v then return v end
        return redis.call('GET', KEYS[2])
        """;

    // KEYS[1] = TLS 1.3 list. ARGV: session, ttl seconds, tickets per key.
    private const string PushScript = """
        redis.call('LPUSH', KEYS[1], ARGV[1])
        redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
        redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
        return 1
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly RedisSessionStoreOptions _options;

    /// <summary>A store over <paramref name="redis"/> (not owned) with keys under <paramref name="prefix"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="redis"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public RedisSslSessionStore(IConnectionMultiplexer redis, string prefix, RedisSessionStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        options ??= new RedisSessionStoreOptions();
        if (options.Timeout <= TimeSpan.Zero || options.TicketsPerKey is < 1 or > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Timeout must be positive and TicketsPerKey 1 to 1024.");
        }
        _redis = redis;
        _prefix = prefix;
        _options = options;
    }

    /// <summary>Hits, misses, errors and garbage so far.</summary>
    public SessionStoreCounters Counters { get; } = new();

    /// <summary>
    /// Stores the session's DER (<c>i2d_SSL_SESSION</c>): TLS 1.3 pushed on the key's ticket list, TLS 1.2 as the
    /// key's value; both expire with the session. Non-resumable or expired sessions are not stored (false).
    /// </summary>
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
        bool tls13 = session.Protocol == TlsVersion.Tls13;
        IDatabase db = _redis.GetDatabase();
        Task<bool> call = tls13
            ? PushAsync(db, Key(key, tls13: true), der, ttl)
            : db.StringSetAsync(Key(key, tls13: false), der, ttl);
        (bool ok, bool stored) = await Bounded.WaitAsync(call, _options.Timeout, cancellationToken).ConfigureAwait(false);
        if (!ok)
        {
            Counters.Error();
            return false;
        }
        if (stored)
        {
            Counters.Store();
        }
        return stored;
    }

    /// <summary>
    /// Takes a session for <paramref name="key"/> in one atomic Redis call: a TLS 1.3 ticket (removed: single use
    /// across the fleet), else the TLS 1.2 session (kept: reusable). Decoded with <c>d2i_SSL_SESSION</c> and bound to
    /// <paramref name="context"/>; anything else is a miss.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<SslSession> TakeAsync(SslSessionCacheKey key, SslContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        Task<RedisResult> call = _redis.GetDatabase().ScriptEvaluateAsync(TakeScript, [Key(key, tls13: true), Key(key, tls13: false)]);
        (bool ok, RedisResult result) = await Bounded.WaitAsync(call, _options.Timeout, cancellationToken).ConfigureAwait(false);
        if (!ok)
        {
            Counters.Error();
            Counters.Miss();
            return default;
        }
        byte[]? der = result.IsNull || result.Resp2Type is not (ResultType.BulkString or ResultType.SimpleString) ? null : (byte[]?)result;
        return SessionBytes.Decode(der, context, Counters);
    }

    private async Task<bool> PushAsync(IDatabase db, RedisKey list, byte[] der, TimeSpan ttl)
    {
        await db.ScriptEvaluateAsync(PushScript, [list], [der, (long)Math.Ceiling(ttl.TotalSeconds), _options.TicketsPerKey]).ConfigureAwait(false);
        return true;
    }

    private RedisKey Key(SslSessionCacheKey key, bool tls13) =>
        $"{_prefix}:session:{(tls13 ? "t13" : "t12")}:{key.Host}:{key.Port}:{key.ApplicationProtocol}";
}
