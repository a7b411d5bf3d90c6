using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace FastSession;

/// <summary>
/// A snapshot of one <c>SSL_SESSION</c>, filled by a single native call
/// (<c>FastSessionNative_SslSessionGetInfo</c>: <c>SSL_SESSION_get_id</c>,
/// <c>SSL_SESSION_get_protocol_version</c>, <c>SSL_SESSION_get0_cipher</c>, <c>SSL_SESSION_get_time</c>,
/// <c>SSL_SESSION_get_timeout</c>, <c>SSL_SESSION_get_ticket_lifetime_hint</c>, <c>SSL_SESSION_has_ticket</c>,
/// <c>SSL_SESSION_is_resumable</c>, <c>SSL_SESSION_get0_hostname</c>, <c>SSL_SESSION_get0_alpn_selected</c>).
/// </summary>
/// <remarks>
/// The layout mirrors the shim's <c>fs_session_info</c> byte for byte so the shim writes straight into
/// the caller's variable. Reading it allocates nothing except the string-returning properties.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public struct SslSessionInfo
{
    private SessionIdBuffer _id;
    private int _idLength;
    private int _protocolVersion;
    private uint _cipherId;
    private int _resumable;
    private long _time;
    private long _timeout;
    private uint _ticketLifetimeHint;
    private int _hasTicket;
    private uint _maxEarlyData;
    private int _sniLength;
    private int _alpnLength;
    private int _cipherNameLength;
    private ulong _contextId;
    private CipherNameBuffer _cipherName;
    private Buffer256 _sni;
    private Buffer256 _alpn;

    /// <summary>Size of the native struct; checked against the shim at start-up.</summary>
    internal const int NativeSize = 672;

    /// <summary>The session id (<c>SSL_SESSION_get_id</c>); empty for a TLS 1.3 session before its ticket.</summary>
    [UnscopedRef]
    public readonly ReadOnlySpan<byte> Id => ((ReadOnlySpan<byte>)_id)[..Math.Clamp(_idLength, 0, 32)];

    /// <summary>The session id as a value (<c>SSL_SESSION_get_id</c>).</summary>
    public readonly SslSessionId SessionId => new(Id);

    /// <summary>The protocol the session was negotiated with (<c>SSL_SESSION_get_protocol_version</c>).</summary>
    public readonly TlsVersion Protocol => (TlsVersion)_protocolVersion;

    /// <summary>The IANA cipher suite number (<c>SSL_CIPHER_get_protocol_id</c>).</summary>
    public readonly ushort CipherSuite => (ushort)_cipherId;

    /// <summary>Whether the session can be used to resume (<c>SSL_SESSION_is_resumable</c>).</summary>
    public readonly bool IsResumable => _resumable != 0;

    /// <summary>When the session was established (<c>SSL_SESSION_get_time</c>).</summary>
    public readonly DateTimeOffset Time => UnixSeconds(_time);

    /// <summary>How long the session may be resumed after <see cref="Time"/> (<c>SSL_SESSION_get_timeout</c>).</summary>
    public readonly TimeSpan Timeout => Seconds(_timeout);

    /// <summary>When the session stops being usable: <see cref="Time"/> + <see cref="Timeout"/>.</summary>
    public readonly DateTimeOffset ExpiresAt => UnixSeconds(_timeout > 0 && _time > long.MaxValue - _timeout ? long.MaxValue
        : _timeout < 0 && _time < long.MinValue - _timeout ? long.MinValue : _time + _timeout);

    // An imported session's time and timeout are whatever 64-bit integers its DER held: saturate at the
    // DateTimeOffset / TimeSpan limits instead of throwing from a getter.
    internal static DateTimeOffset UnixSeconds(long seconds) =>
        seconds <= DateTimeOffset.MinValue.ToUnixTimeSeconds() ? DateTimeOffset.MinValue
        : seconds >= DateTimeOffset.MaxValue.ToUnixTimeSeconds() ? DateTimeOffset.MaxValue
        : DateTimeOffset.FromUnixTimeSeconds(seconds);

    internal static TimeSpan Seconds(long seconds) =>
        seconds >= TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerSecond ? TimeSpan.MaxValue
        : seconds <= TimeSpan.MinValue.Ticks / TimeSpan.TicksPerSecond ? TimeSpan.MinValue
        : TimeSpan.FromSeconds(seconds);

    /// <summary>The server's ticket lifetime hint in seconds, 0 if none (<c>SSL_SESSION_get_ticket_lifetime_hint</c>).</summary>
    public readonly uint TicketLifetimeHint => _ticketLifetimeHint;

    /// <summary>Whether the session carries a ticket (<c>SSL_SESSION_has_ticket</c>).</summary>
    public readonly bool HasTicket => _hasTicket != 0;

    /// <summary>TLS 1.3 early data limit (<c>SSL_SESSION_get_max_early_data</c>).</summary>
    public readonly uint MaxEarlyData => _maxEarlyData;

    /// <summary>Id of the <see cref="SslContext"/> the session is bound to, 0 when unbound.</summary>
    public readonly ulong ContextId => _contextId;

    /// <summary>The cipher suite name as UTF-8 (<c>SSL_CIPHER_get_name</c>).</summary>
    [UnscopedRef]
    public readonly ReadOnlySpan<byte> CipherNameUtf8 => ((ReadOnlySpan<byte>)_cipherName)[..Math.Clamp(_cipherNameLength, 0, 64)];

    /// <summary>The server name the session was made for (<c>SSL_SESSION_get0_hostname</c>), UTF-8.</summary>
    [UnscopedRef]
    public readonly ReadOnlySpan<byte> ServerNameUtf8 => ((ReadOnlySpan<byte>)_sni)[..Math.Clamp(_sniLength, 0, 256)];

    /// <summary>The negotiated ALPN protocol (<c>SSL_SESSION_get0_alpn_selected</c>).</summary>
    [UnscopedRef]
    public readonly ReadOnlySpan<byte> ApplicationProtocolUtf8 => ((ReadOnlySpan<byte>)_alpn)[..Math.Clamp(_alpnLength, 0, 256)];

    /// <summary>The cipher suite name (<c>SSL_CIPHER_get_name</c>). Allocates a string.</summary>
    public readonly string CipherName => Encoding.ASCII.GetString(CipherNameUtf8);

    /// <summary>The server name (SNI) of the session, or null (<c>SSL_SESSION_get0_hostname</c>). Allocates.</summary>
    public readonly string? ServerName => _sniLength > 0 ? Encoding.UTF8.GetString(ServerNameUtf8) : null;

    /// <summary>The negotiated ALPN protocol, or null (<c>SSL_SESSION_get0_alpn_selected</c>). Allocates.</summary>
    public readonly string? ApplicationProtocol => _alpnLength > 0 ? Encoding.ASCII.GetString(ApplicationProtocolUtf8) : null;

    [InlineArray(32)]
    private struct SessionIdBuffer { private byte _e; }

    [InlineArray(64)]
    private struct CipherNameBuffer { private byte _e; }

    [InlineArray(256)]
    private struct Buffer256 { private byte _e; }
}
