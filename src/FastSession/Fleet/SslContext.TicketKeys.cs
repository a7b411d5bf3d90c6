using System;
using FastSession.Interop;

namespace FastSession;

public sealed partial class SslContext
{
    /// <summary>
    /// Encrypts and decrypts this server context's session tickets with <paramref name="ring"/>'s keys
    /// (<c>SSL_CTX_set_tlsext_ticket_key_evp_cb</c> with the shim's callback) instead of OpenSSL's random per-context
    /// key, so contexts in other processes with the same keys resume each other's tickets and tickets survive a
    /// restart. Call before the first handshake; once per context (rotate with <see cref="TicketKeyRing.Install"/>).
    /// The context keeps its own reference to the native ring: disposing <paramref name="ring"/> later is harmless.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="ring"/> is null.</exception>
    /// <exception cref="InvalidOperationException">This is a client context, or it already has a ring.</exception>
    /// <exception cref="ObjectDisposedException">The context or the ring was disposed.</exception>
    public void UseTicketKeys(TicketKeyRing ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        if (!IsServer)
        {
            throw new InvalidOperationException("Ticket keys belong to server contexts (SSL_CTX_set_tlsext_ticket_key_evp_cb); this is a client context.");
        }
        AddLease();
        try
        {
            int status = ring.AttachTo(this);
            if (status == ShimConstants.ErrArgument)
            {
                throw new InvalidOperationException($"{this} already has a ticket-key ring; rotate by installing new keys into it.");
            }
            if (status != ShimConstants.Ok)
            {
                throw new InvalidOperationException(OpenSslError.ReasonOr("SSL_CTX_set_tlsext_ticket_key_evp_cb"));
            }
        }
        finally
        {
            ReleaseLease();
        }
    }
}
