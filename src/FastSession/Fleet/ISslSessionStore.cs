using System;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession;

/// <summary>
/// Where a client keeps sessions between connections, keyed like <see cref="SslClientSessionCache"/> (host, port,
/// ALPN). <see cref="MemorySslSessionStore"/> (over the in-process cache) is the default; FastSession.Redis adds a
/// fleet-wide store (atomic single-use takes for TLS 1.3) and an <c>IDistributedCache</c> adapter.
/// </summary>
/// <remarks>
/// Contract for implementations: a TLS 1.3 session is handed out once (DESIGN.md S9), a TLS 1.2 session until it
/// expires; nothing non-resumable is stored or returned; a store that is slow, down or returns garbage gives a miss
/// (<c>default</c>) within its bounded wait and never throws to the caller except for argument errors and
/// cancellation by the caller's token.
/// </remarks>
public interface ISslSessionStore
{
    /// <summary>Stores a copy of <paramref name="session"/> (the caller keeps and disposes its handle). Returns whether it was stored.</summary>
    ValueTask<bool> AddAsync(SslSessionCacheKey key, SslSession session, CancellationToken cancellationToken = default);

    /// <summary>Takes a session for <paramref name="key"/>, bound to <paramref name="context"/>; <c>default</c> (<see cref="SslSession.IsNone"/>) on a miss. The caller owns the result.</summary>
    ValueTask<SslSession> TakeAsync(SslSessionCacheKey key, SslContext context, CancellationToken cancellationToken = default);
}

/// <summary>The in-process store: an <see cref="ISslSessionStore"/> view of an <see cref="SslClientSessionCache"/>.</summary>
public sealed class MemorySslSessionStore : ISslSessionStore
{
    /// <summary>Wraps <paramref name="cache"/> (not owned: the caller disposes it).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    public MemorySslSessionStore(SslClientSessionCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        Cache = cache;
    }

    /// <summary>The cache behind this store.</summary>
    public SslClientSessionCache Cache { get; }

    /// <summary>Adds a duplicate of <paramref name="session"/> (<c>SSL_SESSION_up_ref</c>) to the cache.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="session"/> was disposed.</exception>
    public ValueTask<bool> AddAsync(SslSessionCacheKey key, SslSession session, CancellationToken cancellationToken = default)
    {
        SslSession copy = session.Duplicate();
        return ValueTask.FromResult(Cache.Add(key, copy));
    }

    /// <summary>
    /// <see cref="SslClientSessionCache.TryTake"/>. Sessions in the cache are bound to the context that made them;
    /// one of another context is re-bound through DER (<c>i2d_SSL_SESSION</c> / <c>d2i_SSL_SESSION</c>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    public ValueTask<SslSession> TakeAsync(SslSessionCacheKey key, SslContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!Cache.TryTake(key, out SslSession session))
        {
            return ValueTask.FromResult(default(SslSession));
        }
        if (session.ContextId == context.Id)
        {
            return ValueTask.FromResult(session);
        }
        using (session)
        {
            return ValueTask.FromResult(session.RebindTo(context));
        }
    }
}
