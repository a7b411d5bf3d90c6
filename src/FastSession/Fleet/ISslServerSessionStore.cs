using System;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession;

/// <summary>
/// Where a server keeps its sessions outside the process (OpenSSL's external session cache), keyed by the session id:
/// TLS 1.2 session ids and TLS 1.3 stateful tickets (a context without tickets, <see cref="SslContextOptions.EnableTickets"/>
/// false). Installed with <see cref="SslContext.UseServerSessionStore"/>; FastSession.Redis implements it on Redis so
/// every process of a fleet resumes what any of them issued.
/// </summary>
/// <remarks>
/// Contract for implementations: <see cref="GetAsync"/> with <c>take</c> removes the entry in the same atomic step (TLS 1.3
/// tickets are single use across the fleet); <see cref="RemoveAsync"/> for an id must not be overtaken by an earlier
/// <see cref="AddAsync"/> of the same id that is still in flight (the context waits for the connection's own adds, bounded,
/// before it removes). A store that is slow, down or returns garbage may return a miss (null / false) or throw: the
/// context bounds every lookup with <see cref="SslContext.ServerSessionLookupTimeout"/>, treats an exception or a late
/// answer as a miss (a full handshake), counts it (<see cref="SslContext.ServerSessionCacheCounters"/>, the
/// <c>fastsession.server_store.errors</c> instrument) and never lets it reach the connection's user.
/// </remarks>
public interface ISslServerSessionStore
{
    /// <summary>Stores the DER session (<c>i2d_SSL_SESSION</c>) under its id for <paramref name="lifetime"/>. Returns whether it was stored.</summary>
    ValueTask<bool> AddAsync(ReadOnlyMemory<byte> sessionId, byte[] der, TimeSpan lifetime, CancellationToken cancellationToken = default);

    /// <summary>The DER session stored under <paramref name="sessionId"/>, removed when <paramref name="take"/>; null on a miss.</summary>
    ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> sessionId, bool take, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes the session stored under <paramref name="sessionId"/>: the server's connection with it ended without a clean
    /// shutdown or with a fatal alert, so it must not be resumed (S8; what <c>SSL_CTX_remove_session</c> does to OpenSSL's
    /// internal cache). Returns whether an entry was removed.
    /// </summary>
    ValueTask<bool> RemoveAsync(ReadOnlyMemory<byte> sessionId, CancellationToken cancellationToken = default);
}
