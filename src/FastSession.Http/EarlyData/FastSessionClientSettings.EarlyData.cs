namespace FastSession.Http;

public sealed partial class FastSessionClientSettings
{
    /// <summary>
    /// Send the first request of a resumed HTTP/1.1 connection as TLS 1.3 early data (0-RTT, <c>SSL_write_early_data</c>) when its
    /// method is GET, HEAD or OPTIONS, saving a round trip; and retry once a safe request answered <c>425 Too Early</c> (RFC 8470).
    /// Default false. Early data can be captured and replayed by anyone on the path, which is why only safe methods are sent early:
    /// the connection defers its handshake to its first write and decides from that write's request line, so a POST that the pool
    /// puts on a connection opened for a GET still waits for a full handshake. HTTP/2 connections never send early data.
    /// <see cref="SslContextOptions.DangerousEnableReplayableEarlyData"/> underneath; README, "0-RTT", states the limits.
    /// </summary>
    public bool DangerousEnableReplayableEarlyData { get; set; }
}
