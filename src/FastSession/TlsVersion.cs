namespace FastSession;

/// <summary>TLS protocol versions FastSession negotiates (OpenSSL's <c>TLS1_2_VERSION</c>, <c>TLS1_3_VERSION</c>).</summary>
public enum TlsVersion
{
    /// <summary>No protocol (no session or no handshake yet).</summary>
    None = 0,
    /// <summary>TLS 1.2 (<c>TLS1_2_VERSION</c>, 0x0303).</summary>
    Tls12 = 0x0303,
    /// <summary>TLS 1.3 (<c>TLS1_3_VERSION</c>, 0x0304).</summary>
    Tls13 = 0x0304,
}
