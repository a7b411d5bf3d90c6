using System;
using System.Collections.Generic;
using System.Threading;

namespace FastSession;

/// <summary>Where a client session may be resumed: the server's host, port and ALPN protocol.</summary>
public readonly record struct SslSessionCacheKey(string Host, int Port, string? ApplicationProtocol = null);

/// <summary>Counters of a <see cref="SslClientSessionCache"/> (hits, misses and why).</summary>
public readonly record struct SslSessionCacheStatistics(
    long Hits, long Misses, long Added, long RejectedNotResumable, long Expired, long Evicted, long SingleUseConsumed, int Count);

/// <summary>
/// A thread-safe, bounded client-side session cache keyed by host, port and ALPN, fed by the new-session
/// notification (<see cref="OnSessionEstablished"/>). It keeps only resumable sessions (S5), hands a TLS 1.3
/// session out once (S9: "use each session for resumption once"), lets a TLS 1.2 session be reused until it
/// expires, honours the session timeout and the ticket lifetime hint, and evicts the oldest when full.
/// </summary>
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
    private long _hits, _misses, _added, _rejected, _expired, _evicted, _singleUse;
    private bool _disposed;

    /// <summary>Creates a cache holding at most <paramref name="capacity"/> sessions, at most <paramref name="perKey"/> per key.</summary>
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
                return new SslSessionCacheStatistics(_hits, _misses, _added, _rejected, _expired, _evicted, _singleUse, _count);
            }
        }
    }

    /// <summary>
    /// A <see cref="SessionEstablishedHandler"/>: assign it to <see cref="SslContext.SessionEstablished"/>. Sessions
    /// of connections without a <see cref="SslConnection.CacheKey"/> (or arriving after the cache was disposed) are
    /// disposed; it never throws into the TLS engine.
    /// </summary>
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

    /// <summary>Adds <paramref name="session"/>; the cache takes ownership (it disposes sessions it rejects or evicts).</summary>
    /// <returns>Whether the session was kept (false when it is not resumable or already expired).</returns>
    public bool Add(SslSessionCacheKey key, SslSession session)
    {
        ArgumentNullException.ThrowIfNull(key.Host);
        if (session.IsNone)
        {
            throw new ArgumentException("default(SslSession) cannot be cached.", nameof(session));
        }
        session.GetInfo(out SslSessionInfo info);
        DateTimeOffset now = _time.GetUtcNow();
        DateTimeOffset expires = info.ExpiresAt;
        if (info.TicketLifetimeHint > 0)
        {
            DateTimeOffset byHint = info.Time < DateTimeOffset.MaxValue.AddSeconds(-info.TicketLifetimeHint)
                ? info.Time.AddSeconds(info.TicketLifetimeHint) : DateTimeOffset.MaxValue;
            expires = byHint < expires ? byHint : expires;
        }
        List<SslSession> toDispose = new();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!info.IsResumable)
            {
                _rejected++;
                toDispose.Add(session);
            }
            else if (expires <= now)
            {
                _expired++;
                toDispose.Add(session);
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
                list.Add(new Entry(session, expires, info.Protocol == TlsVersion.Tls13, sequence, node));
                _count++;
                _added++;
                if (list.Count > _perKey)
                {
                    RemoveAt(key, list, 0, toDispose);
                    _evicted++;
                }
                while (_count > _capacity && _order.First is { } oldest)
                {
                    if (RemoveBySequence(oldest.Value.Key, oldest.Value.Sequence, toDispose))
                    {
                        _evicted++;
                    }
                }
            }
        }
        foreach (SslSession s in toDispose)
        {
            s.Dispose();
        }
        return toDispose.Count == 0 || !toDispose.Contains(session);
    }

    /// <summary>
    /// Takes a session to resume with for <paramref name="key"/>; the caller owns it and disposes it after
    /// <see cref="SslConnection.SetSession"/>. A TLS 1.3 session leaves the cache (single use, S9); a TLS 1.2
    /// session stays and the caller gets its own reference (<c>SSL_SESSION_up_ref</c>).
    /// </summary>
    public bool TryTake(SslSessionCacheKey key, out SslSession session)
    {
        DateTimeOffset now = _time.GetUtcNow();
        List<SslSession> toDispose = new();
        session = default;
        bool found = false;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.TryGetValue(key, out List<Entry>? list))
            {
                // Newest first: the latest ticket has the longest life left.
                for (int i = list.Count - 1; i >= 0; i--)
                {
                    Entry entry = list[i];
                    if (entry.ExpiresAt <= now || !entry.Session.IsResumable)
                    {
                        RemoveAt(key, list, i, toDispose);
                        _expired++;
                        continue;
                    }
                    if (entry.SingleUse)
                    {
                        session = entry.Session;
                        RemoveAt(key, list, i, null);
                        _singleUse++;
                    }
                    else
                    {
                        try
                        {
                            session = entry.Session.Duplicate();
                        }
                        catch
                        {
                            // Sessions already removed above must still be freed.
                            foreach (SslSession s in toDispose)
                            {
                                s.Dispose();
                            }
                            throw;
                        }
                    }
                    found = true;
                    break;
                }
            }
            if (found)
            {
                _hits++;
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
        return found;
    }

    /// <summary>Drops every expired session now.</summary>
    public int RemoveExpired()
    {
        DateTimeOffset now = _time.GetUtcNow();
        List<SslSession> toDispose = new();
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
                    }
                }
            }
        }
        foreach (SslSession s in toDispose)
        {
            s.Dispose();
        }
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

    private readonly record struct Entry(
        SslSession Session, DateTimeOffset ExpiresAt, bool SingleUse, long Sequence, LinkedListNode<(SslSessionCacheKey Key, long Sequence)> Order);
}
