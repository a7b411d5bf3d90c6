using System;
using System.Collections.Generic;
using System.Threading;

namespace FastSession;

/// <summary>Where a client session may be resumed: the server's host, port and ALPN protocol.</summary>
public readonly record struct SslSessionCacheKey(string Host, int Port, string? ApplicationProtocol = null);

/// <summary>Counters of a <see cref="SslClientSessionCache"/> (hits, misses and why).</summary>
/// <param name="Hits">Takes that returned a session.</param>
/// <param name="Misses">Takes that found no usable session.</param>
/// <param name="Added">Sessions kept.</param>
/// <param name="RejectedNotResumable">Sessions refused when added because they were not resumable (S5, S8).</param>
/// <param name="Expired">Sessions dropped (or refused) because they had expired.</param>
/// <param name="Evicted">Sessions dropped to make room.</param>
/// <param name="SingleUseConsumed">TLS 1.3 sessions handed out once and removed (S9).</param>
/// <param name="Count">Sessions held now.</param>
/// <param name="Invalidated">Cached sessions found no longer resumable (their connection, or one sharing the session, closed
/// uncleanly or failed: S8) and dropped. Not counted as <paramref name="Expired"/>.</param>
/// <param name="Duplicates">Adds refused because the cache already held that <c>SSL_SESSION</c>.</param>
/// <param name="Dropped">Sessions that could not be used at all (disposed by their giver before the cache took them) and were refused or dropped.</param>
public readonly record struct SslSessionCacheStatistics(
    long Hits, long Misses, long Added, long RejectedNotResumable, long Expired, long Evicted, long SingleUseConsumed, int Count,
    long Invalidated = 0, long Duplicates = 0, long Dropped = 0);

/// <summary>
/// A thread-safe, bounded client-side session cache keyed by host, port and ALPN, fed by the new-session
/// notification (<see cref="OnSessionEstablished"/>). It keeps only resumable sessions (S5), hands a TLS 1.3
/// session out once (S9: "use each session for resumption once"), lets a TLS 1.2 session be reused until it
/// expires, honours the session timeout and the ticket lifetime hint, and evicts the oldest when full.
/// </summary>
/// <remarks>
/// The cache owns what it is given: <see cref="Add"/> keeps its own reference (<c>SSL_SESSION_up_ref</c>) and disposes
/// the caller's, so a caller disposing its handle afterwards changes nothing; the same <c>SSL_SESSION</c> added twice is
/// refused; an entry that became unusable is dropped and counted, never thrown to a caller. Every event is also counted
/// on the <c>FastSession</c> meter (<see cref="FastSessionTelemetry.CacheHits"/> and its siblings).
/// </remarks>
public sealed class SslClientSessionCache : IDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<SslSessionCacheKey, List<Entry>> _entries = new();
    // Insertion order over all keys, for eviction of the oldest when the cache is full.
    private readonly LinkedList<(SslSessionCacheKey Key, long Sequence)> _order = new();
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly int _perKey;
    private long _sequence;
    private int _count;
    private long _hits, _misses, _added, _rejected, _expired, _evicted, _singleUse, _invalidated, _duplicates, _dropped;
    private bool _disposed;

    /// <summary>Creates a cache holding at most <paramref name="capacity"/> sessions, at most <paramref name="perKey"/> per key.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> or <paramref name="perKey"/> is below 1.</exception>
    public SslClientSessionCache(int capacity = 1024, int perKey = 4, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(perKey, 1);
        _capacity = capacity;
        _perKey = perKey;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Sessions held now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>The counters so far.</summary>
    public SslSessionCacheStatistics Statistics
    {
        get
        {
            lock (_lock)
            {
                return new SslSessionCacheStatistics(_hits, _misses, _added, _rejected, _expired, _evicted, _singleUse, _count, _invalidated, _duplicates, _dropped);
            }
        }
    }

    /// <summary>
    /// A <see cref="SessionEstablishedHandler"/>: assign it to <see cref="SslContext.SessionEstablished"/>. Sessions
    /// of connections without a <see cref="SslConnection.CacheKey"/> (or arriving after the cache was disposed) are
    /// disposed; it never throws into the TLS engine.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    public void OnSessionEstablished(SslConnection connection, SslSession session)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.CacheKey is not { Host: not null } key)
        {
            session.Dispose();
            return;
        }
        try
        {
            Add(key, session);
        }
        catch (ObjectDisposedException)
        {
            // The cache was disposed while connections still ran (an ordinary shutdown race): the
            // session it was handed is simply not kept.
            session.Dispose();
        }
    }

    /// <summary>
    /// Adds <paramref name="session"/>; the cache takes ownership: it keeps its own reference (<c>SSL_SESSION_up_ref</c>)
    /// and disposes <paramref name="session"/> (also when it refuses it), so later use or disposal of the caller's handle
    /// cannot affect the cached entry.
    /// </summary>
    /// <returns>Whether the session was kept: false when it is not resumable, already expired, already cached
    /// (the same <c>SSL_SESSION</c>), or was disposed before the call.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> has no host.</exception>
    /// <exception cref="ArgumentException"><paramref name="session"/> is <c>default</c>.</exception>
    /// <exception cref="ObjectDisposedException">The cache was disposed.</exception>
    public bool Add(SslSessionCacheKey key, SslSession session)
    {
        ArgumentNullException.ThrowIfNull(key.Host);
        if (session.IsNone)
        {
            throw new ArgumentException("default(SslSession) cannot be cached.", nameof(session));
        }
        SslSessionInfo info;
        SslSession own;
        nint pointer;
        try
        {
            session.GetInfo(out info);
            own = session.Duplicate();
            pointer = own.DangerousGetPointer();
        }
        catch (ObjectDisposedException)
        {
            // Disposed by its giver before (or while) it was handed over: nothing to keep.
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _dropped++;
            }
            FastSessionMetrics.RecordCacheRejected("disposed");
            return false;
        }
        session.Dispose();

        DateTimeOffset now = _time.GetUtcNow();
        DateTimeOffset expires = ExpiryOf(info);
        List<SslSession> toDispose = new();
        bool kept = false;
        string? rejection = null;
        int evicted = 0;
        try
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!info.IsResumable)
                {
                    _rejected++;
                    rejection = "not_resumable";
                }
                else if (expires <= now)
                {
                    _expired++;
                    rejection = "expired";
                }
                else if (Contains(key, pointer))
                {
                    _duplicates++;
                    rejection = "duplicate";
                }
                else
                {
                    if (!_entries.TryGetValue(key, out List<Entry>? list))
                    {
                        list = new List<Entry>(_perKey);
                        _entries.Add(key, list);
                    }
                    long sequence = ++_sequence;
                    LinkedListNode<(SslSessionCacheKey Key, long Sequence)> node = _order.AddLast((key, sequence));
                    list.Add(new Entry(own, pointer, expires, info.Protocol == TlsVersion.Tls13, sequence, node));
                    kept = true;
                    _count++;
                    _added++;
                    if (list.Count > _perKey)
                    {
                        RemoveAt(key, list, 0, toDispose);
                        _evicted++;
                        evicted++;
                    }
                    while (_count > _capacity && _order.First is { } oldest)
                    {
                        if (RemoveBySequence(oldest.Value.Key, oldest.Value.Sequence, toDispose))
                        {
                            _evicted++;
                            evicted++;
                        }
                    }
                }
            }
        }
        finally
        {
            if (!kept)
            {
                own.Dispose();
            }
            foreach (SslSession s in toDispose)
            {
                s.Dispose();
            }
        }
        if (rejection == "expired")
        {
            FastSessionMetrics.RecordCacheExpired();
        }
        else if (rejection is not null)
        {
            FastSessionMetrics.RecordCacheRejected(rejection);
        }
        for (int i = 0; i < evicted; i++)
        {
            FastSessionMetrics.RecordCacheEvicted();
        }
        return kept;
    }

    /// <summary>
    /// Takes a session to resume with for <paramref name="key"/>; the caller owns it and disposes it after
    /// <see cref="SslConnection.SetSession"/>. A TLS 1.3 session leaves the cache (single use, S9); a TLS 1.2
    /// session stays and the caller gets its own reference (<c>SSL_SESSION_up_ref</c>). Expired and no longer
    /// resumable entries met on the way are dropped and counted.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The cache was disposed.</exception>
    public bool TryTake(SslSessionCacheKey key, out SslSession session) => TryTakeCore(key, out session, out _);

    /// <summary>
    /// <see cref="TryTake"/> for <paramref name="connection"/>'s <see cref="SslConnection.CacheKey"/>; when nothing is found,
    /// records on the connection why no session will be offered (<see cref="SslResumptionOutcome.CacheMiss"/>,
    /// <see cref="SslResumptionOutcome.CacheExpired"/> or <see cref="SslResumptionOutcome.NotResumable"/>), which
    /// <see cref="SslConnection.ResumptionOutcome"/> reports after a full handshake.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    /// <exception cref="ArgumentException">The connection has no <see cref="SslConnection.CacheKey"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache was disposed.</exception>
    public bool TryTakeFor(SslConnection connection, out SslSession session)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.CacheKey is not { Host: not null } key)
        {
            throw new ArgumentException("The connection has no CacheKey: set SslConnection.CacheKey first.", nameof(connection));
        }
        if (TryTakeCore(key, out session, out SslResumptionOutcome missReason))
        {
            return true;
        }
        connection.NoteNotOffered(missReason);
        return false;
    }

    private bool TryTakeCore(SslSessionCacheKey key, out SslSession session, out SslResumptionOutcome missReason)
    {
        DateTimeOffset now = _time.GetUtcNow();
        List<SslSession> toDispose = new();
        session = default;
        bool found = false;
        bool singleUse = false;
        int expired = 0, invalidated = 0, dropped = 0;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.TryGetValue(key, out List<Entry>? list))
            {
                // Newest first: the latest ticket has the longest life left.
                for (int i = list.Count - 1; i >= 0; i--)
                {
                    Entry entry = list[i];
                    if (entry.ExpiresAt <= now)
                    {
                        RemoveAt(key, list, i, toDispose);
                        expired++;
                        continue;
                    }
                    if (!TryIsResumable(entry.Session, out bool resumable))
                    {
                        RemoveAt(key, list, i, null); // nothing left to free
                        dropped++;
                        continue;
                    }
                    if (!resumable)
                    {
                        // Killed after it was cached (an unclean close of a connection that used it, S8): not an expiry.
                        RemoveAt(key, list, i, toDispose);
                        invalidated++;
                        continue;
                    }
                    if (entry.SingleUse)
                    {
                        session = entry.Session;
                        RemoveAt(key, list, i, null);
                        singleUse = true;
                    }
                    else
                    {
                        try
                        {
                            session = entry.Session.Duplicate();
                        }
                        catch (ObjectDisposedException)
                        {
                            RemoveAt(key, list, i, null);
                            dropped++;
                            continue;
                        }
                    }
                    found = true;
                    break;
                }
            }
            _expired += expired;
            _invalidated += invalidated;
            _dropped += dropped;
            if (found)
            {
                _hits++;
                if (singleUse)
                {
                    _singleUse++;
                }
            }
            else
            {
                _misses++;
            }
        }
        foreach (SslSession s in toDispose)
        {
            s.Dispose();
        }
        FastSessionMetrics.RecordCacheExpired(expired);
        for (int i = 0; i < invalidated; i++)
        {
            FastSessionMetrics.RecordCacheInvalidated("not_resumable");
        }
        for (int i = 0; i < dropped; i++)
        {
            FastSessionMetrics.RecordCacheInvalidated("disposed");
        }
        if (found)
        {
            FastSessionMetrics.RecordCacheHit();
            if (singleUse)
            {
                FastSessionMetrics.RecordCacheSingleUse();
            }
            missReason = SslResumptionOutcome.Unknown;
        }
        else
        {
            FastSessionMetrics.RecordCacheMiss();
            missReason = invalidated > 0 ? SslResumptionOutcome.NotResumable
                : expired > 0 ? SslResumptionOutcome.CacheExpired
                : SslResumptionOutcome.CacheMiss;
        }
        return found;
    }

    /// <summary>Drops every expired session now.</summary>
    public int RemoveExpired()
    {
        DateTimeOffset now = _time.GetUtcNow();
        List<SslSession> toDispose = new();
        int expired = 0;
        lock (_lock)
        {
            foreach (KeyValuePair<SslSessionCacheKey, List<Entry>> pair in new List<KeyValuePair<SslSessionCacheKey, List<Entry>>>(_entries))
            {
                for (int i = pair.Value.Count - 1; i >= 0; i--)
                {
                    if (pair.Value[i].ExpiresAt <= now)
                    {
                        RemoveAt(pair.Key, pair.Value, i, toDispose);
                        _expired++;
                        expired++;
                    }
                }
            }
        }
        foreach (SslSession s in toDispose)
        {
            s.Dispose();
        }
        FastSessionMetrics.RecordCacheExpired(expired);
        return toDispose.Count;
    }

    /// <summary>Disposes every cached session.</summary>
    public void Dispose()
    {
        List<SslSession> toDispose = new();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (List<Entry> list in _entries.Values)
            {
                foreach (Entry entry in list)
                {
                    toDispose.Add(entry.Session);
                }
            }
            _entries.Clear();
            _order.Clear();
            _count = 0;
        }
        foreach (SslSession s in toDispose)
        {
            s.Dispose();
        }
    }

    private void RemoveAt(SslSessionCacheKey key, List<Entry> list, int index, List<SslSession>? toDispose)
    {
        Entry entry = list[index];
        list.RemoveAt(index);
        _count--;
        toDispose?.Add(entry.Session);
        _order.Remove(entry.Order); // O(1): each entry knows its place in the eviction order
        if (list.Count == 0)
        {
            _entries.Remove(key);
        }
    }

    private bool RemoveBySequence(SslSessionCacheKey key, long sequence, List<SslSession> toDispose)
    {
        if (_entries.TryGetValue(key, out List<Entry>? list))
        {
            for (int i = 0; i < list.Count; i++)
            {
                if (list[i].Sequence == sequence)
                {
                    RemoveAt(key, list, i, toDispose);
                    return true;
                }
            }
        }
        _order.RemoveFirst();
        return false;
    }

    private static DateTimeOffset ExpiryOf(in SslSessionInfo info)
    {
        DateTimeOffset expires = info.ExpiresAt;
        if (info.TicketLifetimeHint > 0)
        {
            DateTimeOffset byHint = info.Time < DateTimeOffset.MaxValue.AddSeconds(-info.TicketLifetimeHint)
                ? info.Time.AddSeconds(info.TicketLifetimeHint) : DateTimeOffset.MaxValue;
            expires = byHint < expires ? byHint : expires;
        }
        return expires;
    }

    // The same SSL_SESSION twice under one key would hand a TLS 1.3 ticket out twice (S9).
    private bool Contains(SslSessionCacheKey key, nint pointer)
    {
        if (_entries.TryGetValue(key, out List<Entry>? list))
        {
            foreach (Entry entry in list)
            {
                if (entry.Pointer == pointer)
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static bool TryIsResumable(SslSession session, out bool resumable)
    {
        if (session.IsDisposed)
        {
            resumable = false;
            return false;
        }
        try
        {
            resumable = session.IsResumable;
            return true;
        }
        catch (ObjectDisposedException)
        {
            resumable = false;
            return false;
        }
    }

    private readonly record struct Entry(
        SslSession Session, nint Pointer, DateTimeOffset ExpiresAt, bool SingleUse, long Sequence, LinkedListNode<(SslSessionCacheKey Key, long Sequence)> Order);
}
