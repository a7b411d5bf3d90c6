using System;
using System.Text;
using FastSession.Interop;

namespace FastSession;

/// <summary>
/// An owned reference to an <c>SSL_SESSION</c> (<c>SSL_get1_session</c>, a new-session callback, or an
/// import): it keeps the session alive after its connection changes or is freed, until
/// <see cref="Dispose"/> calls <c>SSL_SESSION_free</c> exactly once (S2). A small struct over a pooled slot:
/// acquiring and disposing allocate nothing in steady state; copies share the reference, so a second
/// <c>Dispose</c> (also on a copy) does nothing, and any use after <c>Dispose</c> throws
/// <see cref="ObjectDisposedException"/>. <c>default</c> is "no session" (<see cref="IsNone"/>).
/// </summary>
/// <remarks>The slot, pool, leases, <c>Dispose</c>, equality and <c>ToString</c> are generated (FastSession.Generators).</remarks>
[OwnedHandle("fastsession_shim", "FastSessionNative_SslSessionFree", UpRefEntryPoint = "FastSessionNative_SslSessionUpRef")]
public readonly partial struct SslSession
{
    /// <summary>Whether the session can resume a connection (<c>SSL_SESSION_is_resumable</c>, S5, S8).</summary>
    public bool IsResumable
    {
        get => LibSslNative.SslSessionIsResumable(this) != 0;
    }

    /// <summary>The session's protocol (<c>SSL_SESSION_get_protocol_version</c>).</summary>
    public TlsVersion Protocol
    {
        get => (TlsVersion)SessionNative.SslSessionGetProtocolVersion(this);
    }

    /// <summary>The session id (<c>SSL_SESSION_get_id</c>), by value.</summary>
    public SslSessionId Id
    {
        get
        {
            Span<byte> buffer = stackalloc byte[ShimConstants.SessionIdMax];
            int length = SessionNative.SslSessionGetId(this, buffer, buffer.Length);
            return new SslSessionId(buffer[..Math.Clamp(length, 0, buffer.Length)]);
        }
    }

    /// <summary>Id of the <see cref="SslContext"/> the session is bound to (0 while unbound, S12).</summary>
    public ulong ContextId
    {
        get => SessionNative.SslSessionGetContextId(this);
    }

    /// <summary>Fills <paramref name="info"/> with every session field in one native call (<c>fs_session_info</c>).</summary>
    public void GetInfo(out SslSessionInfo info) => SessionNative.SslSessionGetInfo(this, out info);

    /// <summary>A snapshot of every session field (<see cref="GetInfo(out SslSessionInfo)"/>).</summary>
    public SslSessionInfo Info
    {
        get
        {
            GetInfo(out SslSessionInfo info);
            return info;
        }
    }

    /// <summary>
    /// Sets the session's start time (<c>SSL_SESSION_set_time</c>), e.g. to age it in tests or to re-time an imported
    /// session. Only for a session that is in no context's internal cache: client sessions, <see cref="FromDer"/> /
    /// <see cref="FromPem"/> imports and <see cref="Copy"/> copies, until they are passed to
    /// <see cref="SslContext.AddSession"/>. A session that was added to a cache, or that a server connection created or
    /// resumed, is refused: OpenSSL 3.0 relinks a cached session into its context's list through an owner pointer read
    /// without a lock, racing the removals the engine makes by itself (expiry flushes, lookups, evictions, failed
    /// connections), which crashes or corrupts the cache. To re-time such a session, change a <see cref="Copy"/> and
    /// <see cref="SslContext.AddSession"/> the copy: it replaces the cached one (same id).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is before 1970-01-01 (OpenSSL keeps Unix seconds).</exception>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    /// <exception cref="InvalidOperationException">The session is (or may be) in a context's internal cache (see above), or OpenSSL refused the time.</exception>
    public void SetTime(DateTimeOffset time)
    {
        long seconds = time.ToUnixTimeSeconds();
        ArgumentOutOfRangeException.ThrowIfNegative(seconds, nameof(time));
        int result = SessionNative.SslSessionSetTime(this, seconds);
        if (result != 1)
        {
            throw SetTimeFailure(result, "SSL_SESSION_set_time");
        }
    }

    /// <summary>
    /// Sets the session's lifetime (<c>SSL_SESSION_set_timeout</c>); only for a session in no context's internal cache,
    /// like <see cref="SetTime"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    /// <exception cref="InvalidOperationException">The session is (or may be) in a context's internal cache (see <see cref="SetTime"/>), or OpenSSL refused the timeout.</exception>
    public void SetTimeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        int result = SessionNative.SslSessionSetTimeout(this, (long)timeout.TotalSeconds);
        if (result != 1)
        {
            throw SetTimeFailure(result, "SSL_SESSION_set_timeout");
        }
    }

    private static InvalidOperationException SetTimeFailure(int result, string function) => result == ShimConstants.ErrSessionCached
        ? new InvalidOperationException(
            $"{function} refused: this session is (or may be) in an SslContext's internal session cache (it was passed to AddSession, " +
            "or a server connection created or resumed it), where OpenSSL relinks it through its owner context while the engine may be " +
            "removing it. Change a copy instead: session.Copy(), set the time on the copy, then context.AddSession(copy) replaces the cached one.")
        : new InvalidOperationException(OpenSslError.ReasonOr(function));

    /// <summary>Encodes the session as DER (<c>i2d_SSL_SESSION</c>) into <paramref name="destination"/>;
    /// false (with the size needed) when it does not fit.</summary>
    public bool TryWriteDer(Span<byte> destination, out int bytesWritten)
    {
        int length = SessionNative.I2dSslSession(this, destination, destination.Length, out int needed);
        if (length == ShimConstants.ErrBufferTooSmall)
        {
            bytesWritten = needed;
            return false;
        }
        if (length < 0)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("i2d_SSL_SESSION"));
        }
        bytesWritten = length;
        return true;
    }

    /// <summary>The session as DER (<c>i2d_SSL_SESSION</c>), the body of <c>openssl sess_id -outform DER</c>.</summary>
    public byte[] ToDer()
    {
        Span<byte> probe = stackalloc byte[4096];
        if (TryWriteDer(probe, out int written))
        {
            return probe[..written].ToArray();
        }
        byte[] buffer = new byte[written];
        if (!TryWriteDer(buffer, out written))
        {
            throw new InvalidOperationException("i2d_SSL_SESSION changed size between two calls.");
        }
        return buffer.AsSpan(0, written).ToArray();
    }

    /// <summary>The session as PEM, "-----BEGIN SSL SESSION PARAMETERS-----" (<c>PEM_write_bio_SSL_SESSION</c>),
    /// interchangeable with <c>openssl sess_id</c> and <c>openssl s_client -sess_out</c> files.</summary>
    public string ToPem() => Encoding.ASCII.GetString(WriteText(static (s, b, c, out n) => SessionNative.PemWriteSslSession(s, b, c, out n), "PEM_write_bio_SSL_SESSION"));

    /// <summary>
    /// The human-readable dump of <c>openssl sess_id -text</c> (<c>SSL_SESSION_print</c>). It includes the master secret
    /// ("Master-Key" or "Resumption PSK"), as the PEM and DER forms do: do not log it (<c>fastsession inspect</c> hides that
    /// line unless asked).
    /// </summary>
    public string ToText() => Encoding.ASCII.GetString(WriteText(static (s, b, c, out n) => SessionNative.SslSessionPrint(s, b, c, out n), "SSL_SESSION_print"));

    /// <summary>
    /// Decodes DER session bytes (<c>d2i_SSL_SESSION</c>) and binds the session to <paramref name="context"/>.
    /// Trailing bytes are rejected.
    /// </summary>
    /// <exception cref="SslSessionFormatException">The bytes are not one valid session.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="context"/> was disposed: nothing could resume with the session.</exception>
    public static SslSession FromDer(ReadOnlySpan<byte> der, SslContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ObjectDisposedException.ThrowIf(context.IsDisposed, context);
        if (der.IsEmpty)
        {
            throw new SslSessionFormatException("The session DER is empty.");
        }
        ErrorNative.ErrClearError();
        SslSession session = SessionNative.D2iSslSession(der, der.Length, context.Id);
        if (session.IsNone)
        {
            string? reason = OpenSslError.DrainQueue(out ulong code);
            throw new SslSessionFormatException($"The bytes are not a valid DER-encoded SSL session{(reason is null ? "" : $": {reason}")}.", code);
        }
        return session;
    }

    /// <summary>
    /// Reads the first "SSL SESSION PARAMETERS" block of <paramref name="pem"/> (<c>PEM_read_bio_SSL_SESSION</c>),
    /// as written by <c>openssl s_client -sess_out</c>, and binds it to <paramref name="context"/>.
    /// </summary>
    /// <exception cref="SslSessionFormatException">No valid session block was found.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="context"/> was disposed.</exception>
    public static SslSession FromPem(string pem, SslContext context)
    {
        ArgumentNullException.ThrowIfNull(pem);
        ArgumentNullException.ThrowIfNull(context);
        ObjectDisposedException.ThrowIf(context.IsDisposed, context);
        byte[] bytes = Encoding.UTF8.GetBytes(pem);
        if (bytes.Length == 0)
        {
            throw new SslSessionFormatException("The session PEM is empty.");
        }
        ErrorNative.ErrClearError();
        SslSession session = SessionNative.PemReadSslSession(bytes, bytes.Length, context.Id);
        if (session.IsNone)
        {
            string? reason = OpenSslError.DrainQueue(out ulong code);
            throw new SslSessionFormatException($"The text holds no valid \"-----BEGIN SSL SESSION PARAMETERS-----\" block{(reason is null ? "" : $": {reason}")}.", code);
        }
        return session;
    }

    /// <summary>
    /// Copies this session into <paramref name="context"/> through DER — the explicit re-bind that S12 requires
    /// instead of sharing one <c>SSL_SESSION</c> between two <c>SSL_CTX</c>s. The copy is a new owned session.
    /// </summary>
    /// <exception cref="ObjectDisposedException">This session or <paramref name="context"/> was disposed.</exception>
    public SslSession RebindTo(SslContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ObjectDisposedException.ThrowIf(context.IsDisposed, context);
        return FromDer(ToDer(), context);
    }

    private delegate int TextWriter(SslSession session, Span<byte> buffer, int capacity, out int needed);

    private byte[] WriteText(TextWriter write, string operation)
    {
        byte[] buffer = new byte[8192];
        for (int attempt = 0; attempt < 2; attempt++)
        {
            int length = write(this, buffer, buffer.Length, out int needed);
            if (length >= 0)
            {
                return buffer.AsSpan(0, length).ToArray();
            }
            if (length != ShimConstants.ErrBufferTooSmall)
            {
                break;
            }
            buffer = new byte[needed];
        }
        throw new InvalidOperationException(OpenSslError.ReasonOr(operation));
    }
}
