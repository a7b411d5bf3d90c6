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

    /// <summary>
    /// How long a handshake waits for <see cref="ServerSessionStore"/> before it goes on as a full handshake (default 100 ms).
    /// </summary>
    public TimeSpan ServerSessionLookupTimeout { get; set; } = TimeSpan.FromMilliseconds(100);

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
    /// Callers driving <see cref="SslConnection.Handshake"/> themselves answer <see cref="SslStatus.NeedsSessionLookup"/> with
    /// <see cref="SslConnection.TryGetSessionLookup"/> and <see cref="SslConnection.ProvideSession"/>; <see cref="SslMemoryPipe"/> does not.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A client context, or a store is already installed.</exception>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    public void UseServerSessionStore(ISslServerSessionStore store, SslServerCacheMode mode = SslServerCacheMode.NoInternal)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (!IsServer)
        {
            throw new InvalidOperationException("A server session store belongs to server contexts (SSL_CTX_sess_set_get_cb); this is a client context.");
        }
        if (Interlocked.CompareExchange(ref _serverStore, store, null) is not null)
        {
            throw new InvalidOperationException($"{this} already has a server session store.");
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
        SessionEstablishedHandler? previous = SessionEstablished;
        SessionEstablished = (connection, session) =>
        {
            StoreServerSession(store, session);
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

    // Runs after the engine call returned; the store call goes on in the background, bounded by the store itself.
    private void StoreServerSession(ISslServerSessionStore store, SslSession session)
    {
        if (session.IsNone || !session.IsResumable)
        {
            return;
        }
        byte[] id = session.Id.ToArray();
        SslSessionInfo info = session.Info;
        TimeSpan lifetime = info.Time + info.Timeout - DateTimeOffset.UtcNow;
        if (id.Length == 0 || lifetime < TimeSpan.FromSeconds(1))
        {
            return;
        }
        byte[] der = session.ToDer();
        SslServerSessionCacheCounters counters = ServerSessionCacheCounters;
        _ = StoreAsync();

        async Task StoreAsync()
        {
            try
            {
                if (await store.AddAsync(id, der, lifetime).ConfigureAwait(false))
                {
                    counters.Store();
                }
            }
            catch (Exception)
            {
                counters.Error();
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

    /// <summary>Handshakes that paused for the store.</summary>
    public long Lookups => Interlocked.Read(ref _lookups);

    /// <summary>Lookups that handed OpenSSL a session of the key asked for.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that went on as full handshakes (nothing stored, store down or slow, garbage).</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Store calls that failed or outlasted <see cref="SslContext.ServerSessionLookupTimeout"/>.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Store answers that were no session of their key (<c>d2i_SSL_SESSION</c> failed or the id differed).</summary>
    public long Garbage => Interlocked.Read(ref _garbage);

    /// <summary>New sessions the store accepted.</summary>
    public long Stored => Interlocked.Read(ref _stored);

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
    public override string ToString() => $"lookups {Lookups}, hits {Hits}, misses {Misses}, errors {Errors}, garbage {Garbage}, stored {Stored}";

    internal void Lookup() => Interlocked.Increment(ref _lookups);
    internal void Hit() => Interlocked.Increment(ref _hits);
    internal void Miss() => Interlocked.Increment(ref _misses);
    internal void Error() => Interlocked.Increment(ref _errors);
    internal void Junk() => Interlocked.Increment(ref _garbage);
    internal void Store() => Interlocked.Increment(ref _stored);
}
