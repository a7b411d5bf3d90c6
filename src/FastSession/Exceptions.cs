using System;
using System.IO;
using System.Security.Authentication;

namespace FastSession;

/// <summary>
/// Session bytes or PEM text that OpenSSL cannot decode (<c>d2i_SSL_SESSION</c>,
/// <c>PEM_read_bio_SSL_SESSION</c>). Nothing was created; nothing leaks.
/// </summary>
public sealed class SslSessionFormatException : FormatException
{
    /// <summary>Creates the exception with OpenSSL's reason in the message.</summary>
    public SslSessionFormatException(string message, ulong openSslError = 0) : base(message) => OpenSslError = openSslError;

    /// <summary>The first OpenSSL error code (<c>ERR_get_error</c>), 0 when the input was rejected before OpenSSL saw it.</summary>
    public ulong OpenSslError { get; }
}

/// <summary>
/// A session was offered to a connection of another <see cref="SslContext"/>: one <c>SSL_SESSION</c> must
/// only be used with one <c>SSL_CTX</c>. Use <see cref="SslSession.RebindTo(SslContext)"/> to copy it through DER.
/// </summary>
public sealed class SslContextMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception naming both contexts.</summary>
    public SslContextMismatchException(ulong sessionContextId, ulong connectionContextId)
        : base($"The session belongs to SslContext #{sessionContextId}, but this connection uses SslContext #{connectionContextId}. " +
               "One SSL_SESSION must only be used with one SSL_CTX; call session.RebindTo(context) to copy it into the other context through DER.")
    {
        SessionContextId = sessionContextId;
        ConnectionContextId = connectionContextId;
    }

    /// <summary>The same refusal from a context's session cache (<see cref="SslContext.AddSession"/>).</summary>
    internal SslContextMismatchException(ulong sessionContextId, ulong connectionContextId, string message)
        : base(message)
    {
        SessionContextId = sessionContextId;
        ConnectionContextId = connectionContextId;
    }

    /// <summary>The context the session belongs to.</summary>
    public ulong SessionContextId { get; }

    /// <summary>The context of the connection (or, for <see cref="SslContext.AddSession"/>, of the cache) that refused it.</summary>
    public ulong ConnectionContextId { get; }
}

/// <summary>The TLS handshake failed (a fatal alert, a bad message, a peer that hung up).</summary>
public sealed class SslHandshakeException : AuthenticationException
{
    /// <summary>Creates the exception with OpenSSL's reason.</summary>
    public SslHandshakeException(string message, ulong openSslError = 0) : base(message) => OpenSslError = openSslError;

    /// <summary>The OpenSSL error code (<c>ERR_get_error</c>), 0 if none was queued.</summary>
    public ulong OpenSslError { get; }
}

/// <summary>A TLS record could not be read or written after the handshake.</summary>
public sealed class SslProtocolException : IOException
{
    /// <summary>Creates the exception with OpenSSL's reason.</summary>
    public SslProtocolException(string message, ulong openSslError = 0) : base(message) => OpenSslError = openSslError;

    /// <summary>The OpenSSL error code (<c>ERR_get_error</c>), 0 if none was queued.</summary>
    public ulong OpenSslError { get; }
}
