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
/// tickets are single use across the fleet); a store that is slow, down or returns garbage gives a miss (null), never an
/// exception except for cancellation by the caller's token. The context bounds every lookup with
/// <see cref="SslContext.ServerSessionLookupTimeout"/> anyway.
/// </remarks>
public interface ISslServerSessionStore
{
    /// <summary>Stores the DER session (<c>i2d_SSL_SESSION</c>) under its id for <paramref name="lifetime"/>. Returns whether it was stored.</summary>
    ValueTask<bool> AddAsync(ReadOnlyMemory<byte> sessionId, byte[] der, TimeSpan lifetime, CancellationToken cancellationToken = default);

    /// <summary>The DER session stored under <paramref name="sessionId"/>, removed when <paramref name="take"/>; null on a miss.</summary>
    ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> sessionId, bool take, CancellationToken cancellationToken = default);
}
