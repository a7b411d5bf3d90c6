using System;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Interop;

namespace FastSession;

/// <summary>Flags of OpenSSL's server session cache mode (<c>SSL_CTX_set_session_cache_mode</c>) beyond <c>SSL_SESS_CACHE_SERVER</c>.</summary>
[Flags]
public enum SslServerCacheMode
{
    /// <summary>OpenSSL's internal cache looks up and stores as well as the external store.</summary>
    None = 0,
    /// <summary><c>SSL_SESS_CACHE_NO_INTERNAL_LOOKUP</c>: every lookup goes to the external store.</summary>
    NoInternalLookup = 0x0100,
    /// <summary><c>SSL_SESS_CACHE_NO_INTERNAL_STORE</c>: sessions are kept only in the external store.</summary>
    NoInternalStore = 0x0200,
    /// <summary>Both: the external store is the only cache (<c>SSL_SESS_CACHE_NO_INTERNAL</c>).</summary>
    NoInternal = NoInternalLookup | NoInternalStore,
}

public sealed partial class SslContext
{
    private ISslServerSessionStore? _serverStore;

    /// <summary>The server session store installed by <see cref="UseServerSessionStore"/>, or null.</summary>
    public ISslServerSessionStore? ServerSessionStore => Volatile.Read(ref _serverStore);

    private TimeSpan _serverSessionLookupTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long a handshake waits for <see cref="ServerSessionStore"/> before it goes on as a full handshake (default 100 ms),
    /// from zero to <see cref="MaxServerSessionLookupTimeout"/>. It also bounds the removals of an unclean end (S8).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative (<see cref="Timeout.InfiniteTimeSpan"/> included: a store that
    /// never answers would hold the handshake forever) or longer than <see cref="MaxServerSessionLookupTimeout"/>.</exception>
    public TimeSpan ServerSessionLookupTimeout
    {
        get => _serverSessionLookupTimeout;
        set
        {
            // Task.WaitAsync takes neither a negative nor a huge timeout, and the S8 removal waits 2 * value + 1 s: a value outside
            // the range made every lookup an error, and TimeSpan.MaxValue made every removal overflow, unseen.
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero, nameof(ServerSessionLookupTimeout));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxServerSessionLookupTimeout, nameof(ServerSessionLookupTimeout));
            _serverSessionLookupTimeout = value;
        }
    }

    /// <summary>The longest <see cref="ServerSessionLookupTimeout"/> (one minute, also the longest <see cref="SslServerOptions.EarlyDataReplayGuardTimeout"/>).</summary>
    public static TimeSpan MaxServerSessionLookupTimeout { get; } = TimeSpan.FromMinutes(1);

    /// <summary>What the server session store did for this context's handshakes (misses include timeouts and garbage).</summary>
    public SslServerSessionCacheCounters ServerSessionCacheCounters { get; } = new();

    /// <summary>The session cache mode (<c>SSL_CTX_get_session_cache_mode</c>), OpenSSL's <c>SSL_SESS_CACHE_*</c> bits.</summary>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    public int SessionCacheMode
    {
        get
        {
            AddLease();
            try
            {
                return ServerCacheNative.SslCtxGetSessionCacheMode(this);
            }
            finally
            {
                ReleaseLease();
            }
        }
    }

    /// <summary>
    /// Keeps this server's sessions in <paramref name="store"/> (OpenSSL's external cache: <c>SSL_CTX_sess_set_get_cb</c>,
    /// <c>SSL_CTX_sess_set_remove_cb</c>, <c>SSL_CTX_set_session_cache_mode</c> with <paramref name="mode"/>). Lookups are
    /// asynchronous: <c>SSL_CTX_set_client_hello_cb</c> pauses the handshake, <see cref="SslConnection.Handshake"/> returns
    /// <see cref="SslStatus.NeedsSessionLookup"/>, and <see cref="FastSslStream"/> awaits the store (at most
    /// <see cref="ServerSessionLookupTimeout"/>) before it goes on; no managed code runs inside OpenSSL. New sessions are
    /// stored from <see cref="SessionEstablished"/>: a handler set before this call still receives them, one set after
    /// replaces the store's. TLS 1.3 resumes from the store only with stateful tickets (<see cref="SslContextOptions.EnableTickets"/> false).
    /// S8: a server connection that ends without close_notify after its handshake (<see cref="SslConnection.Dispose"/> or
    /// <see cref="SslConnection.Reset"/> before <c>SSL_shutdown</c>, or a peer whose transport ended before its close_notify
    /// under <see cref="FastSslStream"/>), or with a fatal error, removes from the store every session it stored and the
    /// TLS 1.2 id it resumed (<see cref="ISslServerSessionStore.RemoveAsync"/>, in the background: nothing waits on the
    /// network); OpenSSL's own <c>SSL_CTX_remove_session</c> reaches only its internal cache.
    /// Callers driving <see cref="SslConnection.Handshake"/> themselves answer <see cref="SslStatus.NeedsSessionLookup"/> with
    /// <see cref="SslConnection.TryGetSessionLookup"/> and <see cref="SslConnection.ProvideSession"/>; <see cref="SslMemoryPipe"/> does not.
    /// On a context with early data (<see cref="SslContextOptions.DangerousEnableReplayableEarlyData"/>), <see cref="SslServerCacheMode.NoInternalStore"/>
    /// is left out of <paramref name="mode"/>: OpenSSL's anti-replay resumes a ticket only after removing it from its internal cache.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A client context, a store is already installed, or the context decides early data
    /// (<see cref="SslServerOptions.EarlyDataPolicy"/> or <see cref="SslServerOptions.EarlyDataReplayGuard"/>: both would need the one client-hello callback).</exception>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    public void UseServerSessionStore(ISslServerSessionStore store, SslServerCacheMode mode = SslServerCacheMode.NoInternal)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (!IsServer)
        {
            throw new InvalidOperationException("A server session store belongs to server contexts (SSL_CTX_sess_set_get_cb); this is a client context.");
        }
        if (EarlyDataPolicy is not null || EarlyDataReplayGuard is not null)
        {
            // Both pause the handshake from the one client-hello callback an SSL_CTX has (SSL_CTX_set_client_hello_cb): the store's
            // would replace the early-data decision, and every early byte would then be rejected without saying why.
            throw new InvalidOperationException($"{this} decides early data (EarlyDataPolicy or EarlyDataReplayGuard); a server session store cannot be combined with it. Use shared ticket keys for resumption across processes with 0-RTT.");
        }
        if (Interlocked.CompareExchange(ref _serverStore, store, null) is not null)
        {
            throw new InvalidOperationException($"{this} already has a server session store.");
        }
        if (EarlyDataEnabled && MaxEarlyData > 0)
        {
            // OpenSSL's anti-replay (tls_parse_ctos_psk) accepts a stateful ticket only if SSL_CTX_remove_session finds it in the
            // internal cache: with NO_INTERNAL_STORE a session from the store never is, and every resumption silently became a full
            // handshake (counted as a hit). Without it, lookup_sess_in_cache puts the store's session there and OpenSSL takes it out
            // again at once; the store's take (GetAsync with take) keeps the ticket single use across the fleet.
            mode &= ~SslServerCacheMode.NoInternalStore;
        }
        AddLease();
        try
        {
            if (ServerCacheNative.SslCtxSetExternalSessionCache(this, (int)(mode & SslServerCacheMode.NoInternal)) < 0)
            {
                Volatile.Write(ref _serverStore, null);
                throw new InvalidOperationException(OpenSslError.ReasonOr("SSL_CTX_set_session_cache_mode"));
            }
        }
        finally
        {
            ReleaseLease();
        }
        ServerStoreMetrics.EnsureCreated();
        SessionEstablishedHandler? previous = SessionEstablished;
        SessionEstablished = (connection, session) =>
        {
            StoreServerSession(store, connection, session);
            if (previous is not null)
            {
                previous(connection, session);
            }
            else
            {
                session.Dispose();
            }
        };
    }

    // Runs after the engine call returned; the store call goes on in the background, bounded by the store itself. The id
    // and the call go on the connection's trail, so an unclean end of the connection removes what it stored (S8).
    private void StoreServerSession(ISslServerSessionStore store, SslConnection connection, SslSession session)
    {
        if (session.IsNone || !session.IsResumable)
        {
            return;
        }
        byte[] id = session.Id.ToArray();
        SslSessionInfo info = session.Info;
        // ExpiresAt saturates at DateTimeOffset.MaxValue: Time + Timeout overflows for a timeout past the year 9999
        // (SessionTimeout = TimeSpan.MaxValue is valid), and this runs inside the engine call that delivered the session.
        TimeSpan lifetime = info.ExpiresAt - DateTimeOffset.UtcNow;
        if (id.Length == 0 || lifetime < TimeSpan.FromSeconds(1))
        {
            return;
        }
        byte[] der = session.ToDer();
        SslServerSessionCacheCounters counters = ServerSessionCacheCounters;
        connection.TrailStoredSession(id, StoreAsync());

        async Task StoreAsync()
        {
            try
            {
                if (await store.AddAsync(id, der, lifetime).ConfigureAwait(false))
                {
                    counters.Store();
                }
            }
            catch (Exception e)
            {
                counters.Error("add", e);
            }
        }
    }
}

/// <summary>Counts of one context's server session store (<see cref="SslContext.ServerSessionCacheCounters"/>).</summary>
public sealed class SslServerSessionCacheCounters
{
    private long _lookups;
    private long _hits;
    private long _misses;
    private long _errors;
    private long _garbage;
    private long _stored;
    private long _removed;

    /// <summary>Handshakes that paused for the store.</summary>
    public long Lookups => Interlocked.Read(ref _lookups);

    /// <summary>Lookups that handed OpenSSL a session of the key asked for.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that went on as full handshakes (nothing stored, store down or slow, garbage).</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Store calls (lookups, adds, removals) that failed or outlasted <see cref="SslContext.ServerSessionLookupTimeout"/>.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Store answers that were no session of their key (<c>d2i_SSL_SESSION</c> failed or the id differed).</summary>
    public long Garbage => Interlocked.Read(ref _garbage);

    /// <summary>New sessions the store accepted.</summary>
    public long Stored => Interlocked.Read(ref _stored);

    /// <summary>Sessions removed from the store because their connection ended without a clean shutdown or with a fatal
    /// error (S8: OpenSSL's <c>SSL_CTX_remove_session</c> reaches only its internal cache).</summary>
    public long Removed => Interlocked.Read(ref _removed);

    /// <summary>The process-wide counts of the shim's callbacks (<c>fs_server_cache_counts</c>): lookups, provided, rejected,
    /// returned to OpenSSL by the get-session callback, remove-callback events, ClientHellos with nothing to look up.</summary>
    public static (long Lookups, long Provided, long Rejected, long Returned, long Removed, long Skipped) Native
    {
        get
        {
            ServerCacheNative.GetServerCacheCounts(out FsServerCacheCounts counts);
            return (counts.Lookups, counts.Provided, counts.Rejected, counts.Returned, counts.Removed, counts.Skipped);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"lookups {Lookups}, hits {Hits}, misses {Misses}, errors {Errors}, garbage {Garbage}, stored {Stored}, removed {Removed}";

    internal void Lookup()
    {
        Interlocked.Increment(ref _lookups);
        ServerStoreMetrics.Lookup();
    }

    internal void Hit()
    {
        Interlocked.Increment(ref _hits);
        ServerStoreMetrics.Hit();
    }

    internal void Miss()
    {
        Interlocked.Increment(ref _misses);
        ServerStoreMetrics.Miss();
    }

    internal void Error(string operation, Exception e)
    {
        Interlocked.Increment(ref _errors);
        ServerStoreMetrics.Error(operation, e is TimeoutException ? "timeout" : e.GetType().Name);
    }

    internal void Junk()
    {
        Interlocked.Increment(ref _garbage);
        ServerStoreMetrics.Garbage();
    }

    internal void Store()
    {
        Interlocked.Increment(ref _stored);
        ServerStoreMetrics.Stored();
    }

    internal void Remove(bool fatalError)
    {
        Interlocked.Increment(ref _removed);
        ServerStoreMetrics.Removed(fatalError);
    }
}
