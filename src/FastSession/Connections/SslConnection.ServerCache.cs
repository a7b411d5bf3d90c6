using System;
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
    public bool ProvideSession(ReadOnlySpan<byte> der)
    {
        int status;
        using (ExclusiveScope _ = Exclusive(Access.Exclusive))
        {
            status = ServerCacheNative.SslProvideSession(this, der, der.Length);
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
        if (context.ServerSessionStore is { } store)
        {
            Task<byte[]?> call = store.GetAsync(lookup.Key, lookup.IsSingleUse, cancellationToken).AsTask();
            try
            {
                der = await call.WaitAsync(context.ServerSessionLookupTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Observe(call);
                throw;
            }
            catch (Exception)
            {
                Observe(call);
                counters.Error();
            }
        }
        bool offered = ProvideSession(der ?? []);
        if (offered)
        {
            counters.Hit();
            return;
        }
        if (der is { Length: > 0 })
        {
            counters.Junk();
        }
        counters.Miss();

        static void Observe(Task task) =>
            task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
