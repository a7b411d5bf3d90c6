using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Interop;

namespace FastSession;

/// <summary>What a server handshake paused for (<see cref="SslStatus.NeedsSessionLookup"/>): the key the client offered.</summary>
/// <param name="Key">The TLS 1.2 session id or TLS 1.3 stateful-ticket identity (at most 32 bytes).</param>
/// <param name="IsSingleUse">A TLS 1.3 ticket: take it from the store (single use across the fleet); a TLS 1.2 id is reusable.</param>
public readonly record struct SslSessionLookup(ReadOnlyMemory<byte> Key, bool IsSingleUse);

public sealed partial class SslConnection
{
    // What this server connection put in or took from the context's store: removed again if it ends uncleanly (S8).
    private ServerStoreTrail? _storeTrail;
    // The transport ended before the peer's close_notify (FastSslStream saw EOF): OpenSSL 3 over a socket calls that a
    // fatal "unexpected eof while reading", but memory BIOs never show OpenSSL the EOF, and a later SSL_shutdown of ours
    // would make the close look clean.
    private bool _transportEndedUncleanly;
    // What the last lookup of this handshake got (ResumptionOutcome on a server that did not resume).
    private StoreLookup _storeLookup;

    private enum StoreLookup : byte
    {
        None,
        Provided,
        Missed,
        Failed,
    }

    /// <summary>FastSslStream: the inner stream ended; without the peer's close_notify the session is dead for the server store.</summary>
    internal void NoteTransportEnded(bool closeNotifyReceived)
    {
        if (!closeNotifyReceived)
        {
            // At once: the stream may still send its own close_notify and pool this object, whose Reset (and so ObserveClose)
            // comes only when it is rented again.
            _transportEndedUncleanly = true;
            RemoveTrail(fatalError: false);
        }
    }
    /// <summary>
    /// The lookup a paused server handshake waits for (the shim's <c>SSL_CTX_set_client_hello_cb</c> returned
    /// <c>SSL_CLIENT_HELLO_RETRY</c>); false when none is pending.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public bool TryGetSessionLookup(out SslSessionLookup lookup)
    {
        Span<byte> key = stackalloc byte[ShimConstants.SessionIdMax];
        int length;
        int kind;
        using (ReaderScope _ = Reader())
        {
            kind = ServerCacheNative.SslGetSessionLookup(this, key, key.Length, out length);
        }
        lookup = kind is not (ServerCacheNative.LookupSessionId or ServerCacheNative.LookupPskIdentity) ? default
            : new SslSessionLookup(key[..Math.Clamp(length, 0, key.Length)].ToArray(), kind == ServerCacheNative.LookupPskIdentity);
        return kind is ServerCacheNative.LookupSessionId or ServerCacheNative.LookupPskIdentity;
    }

    /// <summary>
    /// Answers the pending lookup with a DER session (<c>d2i_SSL_SESSION</c>), or none (empty); the next
    /// <see cref="Handshake"/> goes on and OpenSSL's get-session callback (<c>SSL_CTX_sess_set_get_cb</c>) offers it.
    /// Returns whether the bytes were a session of the key asked for: anything else is a miss (a full handshake), never an error.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">No lookup is pending, or another thread is using the connection.</exception>
    public bool ProvideSession(ReadOnlySpan<byte> der) => ProvideSessionFrom(der, storeFailed: false);

    private bool ProvideSessionFrom(ReadOnlySpan<byte> der, bool storeFailed)
    {
        int status;
        using (ExclusiveScope _ = Exclusive(Access.Exclusive))
        {
            status = ServerCacheNative.SslProvideSession(this, der, der.Length);
            if (status >= 0)
            {
                _storeLookup = status == 1 ? StoreLookup.Provided : storeFailed ? StoreLookup.Failed : StoreLookup.Missed;
            }
        }
        if (status < 0)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("no session lookup is pending on this connection"));
        }
        return status == 1;
    }

    // FastSslStream's pump: awaits the context's store outside OpenSSL, bounded by ServerSessionLookupTimeout, then answers.
    // Store failures, timeouts and garbage are misses, counted; only the caller's cancellation escapes.
    internal async ValueTask LookUpSessionAsync(CancellationToken cancellationToken)
    {
        SslContext context = Context;
        SslServerSessionCacheCounters counters = context.ServerSessionCacheCounters;
        if (!TryGetSessionLookup(out SslSessionLookup lookup))
        {
            return;
        }
        counters.Lookup();
        byte[]? der = null;
        bool failed = false;
        if (context.ServerSessionStore is { } store)
        {
            long started = ServerStoreMetrics.TimingLookups ? Stopwatch.GetTimestamp() : 0;
            ValueTask<byte[]?> pending;
            try
            {
                pending = store.GetAsync(lookup.Key, lookup.IsSingleUse, cancellationToken);
            }
            catch (Exception e)
            {
                counters.Error("get", e); // a store that throws before its first await: a miss like any other failure
                // ...and never the connection's user's exception: a caller that cancelled meanwhile gets its cancellation.
                cancellationToken.ThrowIfCancellationRequested();
                failed = true;
                pending = ValueTask.FromResult<byte[]?>(null);
            }
            // A store that answered at once (an in-memory one, a local hit) continues on this thread: no Task, no timer, no
            // hop (fleet4). A Redis answer always comes later: one continuation, scheduled by the Redis client, then the
            // handshake goes on inline in it (bench/RESULTS.md, "fleet4").
            if (pending.IsCompletedSuccessfully)
            {
                der = pending.Result;
                if (started != 0)
                {
                    ServerStoreMetrics.LookupWaited(started);
                }
            }
            else
            {
                Task<byte[]?> call = pending.AsTask();
                try
                {
                    der = await call.WaitAsync(context.ServerSessionLookupTimeout, cancellationToken).ConfigureAwait(false);
                    if (started != 0)
                    {
                        ServerStoreMetrics.LookupWaited(started);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    Observe(call);
                    throw;
                }
                catch (Exception e)
                {
                    Observe(call);
                    counters.Error("get", e);
                    failed = true;
                }
            }
        }
        bool offered = ProvideSessionFrom(der ?? [], failed);
        if (offered)
        {
            counters.Hit();
            if (!lookup.IsSingleUse)
            {
                // A TLS 1.2 id stays in the store for other connections: this one's unclean end must remove it. (A TLS 1.3
                // stateful ticket was taken; the tickets this connection issues reach the trail as they are stored.)
                Trail().Add(lookup.Key.ToArray(), null);
            }
            return;
        }
        if (der is { Length: > 0 })
        {
            counters.Junk();
        }
        counters.Miss();
    }

    /// <summary>Records a session this connection stored (<see cref="SslContext.UseServerSessionStore"/>) and its pending add.</summary>
    internal void TrailStoredSession(byte[] sessionId, Task add) => Trail().Add(sessionId, add);

    // ObserveClose (Reset, Dispose), inside the exclusive scope: a server connection that ended without close_notify
    // after its handshake, or with a fatal error, takes its sessions out of the store (what SSL_CTX_remove_session does to
    // OpenSSL's internal cache, which the external store never reaches: OpenSSL calls no callback for it). The removal
    // runs in the background: Dispose never waits on the network.
    private void EndServerStoreTrail(bool fatalError, bool uncleanClose)
    {
        uncleanClose |= _transportEndedUncleanly;
        _transportEndedUncleanly = false;
        if (fatalError || uncleanClose)
        {
            RemoveTrail(fatalError);
        }
        else
        {
            Volatile.Write(ref _storeTrail, null);
        }
    }

    private void RemoveTrail(bool fatalError)
    {
        ServerStoreTrail? trail = Interlocked.Exchange(ref _storeTrail, null);
        if (trail is not null && Context.ServerSessionStore is { } store)
        {
            _ = trail.RemoveAllAsync(store, Context.ServerSessionCacheCounters, Context.ServerSessionLookupTimeout, fatalError);
        }
    }

    private ServerStoreTrail Trail()
    {
        ServerStoreTrail? trail = Volatile.Read(ref _storeTrail);
        if (trail is null)
        {
            trail = new ServerStoreTrail();
            trail = Interlocked.CompareExchange(ref _storeTrail, trail, null) ?? trail;
        }
        return trail;
    }

    private static void Observe(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    // The session ids one server connection stored or resumed from the store, with the adds still in flight.
    private sealed class ServerStoreTrail
    {
        private readonly List<(byte[] Id, Task? Add)> _entries = new(2);

        public void Add(byte[] id, Task? add)
        {
            lock (_entries)
            {
                _entries.Add((id, add));
            }
        }

        public async Task RemoveAllAsync(ISslServerSessionStore store, SslServerSessionCacheCounters counters, TimeSpan lookupTimeout, bool fatalError)
        {
            (byte[] Id, Task? Add)[] entries;
            lock (_entries)
            {
                entries = _entries.ToArray();
            }
            // An add still in flight would store the session again after the removal: wait for it first (bounded; a
            // store that orders its calls, like Redis on one connection, needs no wait at all).
            TimeSpan wait = lookupTimeout * 2 + TimeSpan.FromSeconds(1);
            foreach ((_, Task? add) in entries)
            {
                if (add is { IsCompleted: false })
                {
                    try
                    {
                        await add.WaitAsync(wait).ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        // The add's own failure is counted where it ran; a late one proceeds to the removal anyway.
                    }
                }
            }
            foreach ((byte[] id, _) in entries)
            {
                try
                {
                    if (await store.RemoveAsync(id).AsTask().WaitAsync(wait).ConfigureAwait(false))
                    {
                        counters.Remove(fatalError);
                    }
                }
                catch (Exception e)
                {
                    counters.Error("remove", e);
                }
            }
        }
    }
}
