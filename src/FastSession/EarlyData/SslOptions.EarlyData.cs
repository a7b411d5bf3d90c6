using System;

namespace FastSession;

public abstract partial class SslContextOptions
{
    /// <summary>
    /// Turns on TLS 1.3 early data (0-RTT). Default false. Early data can be captured and replayed by anyone on the path:
    /// a server must only act on it for requests that are safe to run twice (README, "0-RTT"). Clients then may send early
    /// data (<see cref="SslConnection.WriteEarlyData"/>, <see cref="FastSslStream.AuthenticateAsClientAsync(SslContext, string?, SslSession, ReadOnlyMemory{byte}, System.Threading.CancellationToken)"/>);
    /// servers issue tickets that allow it (<c>SSL_CTX_set_max_early_data</c>) and read it (<c>SSL_read_early_data</c>),
    /// protected by OpenSSL's single-use tickets in this process, or by <see cref="SslServerOptions.EarlyDataReplayGuard"/> across a fleet.
    /// The name follows <see cref="SslClientOptions.DangerousAcceptAnyServerCertificate"/>: "Dangerous" marks the options that remove
    /// a protection TLS gives by default (here: that every record is fresh), "Replayable" says which.
    /// </summary>
    public bool DangerousEnableReplayableEarlyData { get; set; }

    /// <summary>
    /// Server: the early data a ticket allows (<c>SSL_CTX_set_max_early_data</c>) and that the server reads
    /// (<c>SSL_CTX_set_recv_max_early_data</c>). Default 16384 (OpenSSL's receive default). Clients send at most what their ticket allows.
    /// </summary>
    public int MaxEarlyData { get; set; } = 16384;

    internal void ValidateEarlyData()
    {
        if (MaxEarlyData < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEarlyData), MaxEarlyData, "MaxEarlyData cannot be negative.");
        }
        if (this is SslServerOptions { EarlyDataReplayGuardTimeout: var guardTimeout } &&
            (guardTimeout < TimeSpan.Zero || guardTimeout > SslContext.MaxServerSessionLookupTimeout))
        {
            // The guard is awaited through Task.WaitAsync: a negative or huge value made every claim an error (early data always
            // rejected), and InfiniteTimeSpan let a guard that never answers hold the handshake and its connection forever.
            throw new ArgumentOutOfRangeException(nameof(SslServerOptions.EarlyDataReplayGuardTimeout), guardTimeout,
                "EarlyDataReplayGuardTimeout must be from zero to one minute.");
        }
        if (DangerousEnableReplayableEarlyData && MaxVersion != TlsVersion.Tls13)
        {
            throw new ArgumentException("Early data needs TLS 1.3: set MaxVersion to TlsVersion.Tls13 or leave DangerousEnableReplayableEarlyData off.");
        }
    }
}

public sealed partial class SslServerOptions
{
    /// <summary>
    /// Decides per connection whether early data may be accepted (<c>SSL_CTX_set_allow_early_data_cb</c>, evaluated outside
    /// OpenSSL). Null accepts whatever OpenSSL's own checks accept. An exception refuses.
    /// </summary>
    public SslEarlyDataPolicy? EarlyDataPolicy { get; set; }

    /// <summary>
    /// Anti-replay shared by a fleet: each ticket's early data is accepted at most once across all servers sharing the guard
    /// (e.g. <c>RedisEarlyDataReplayGuard</c> in FastSession.Redis). With a guard, tickets are stateless (<c>SSL_OP_NO_ANTI_REPLAY</c>,
    /// so servers sharing ticket keys resume each other's) and the guard replaces OpenSSL's in-process single use. Null: OpenSSL's
    /// anti-replay (stateful single-use tickets in this context's cache: one process only). Consulted only by
    /// <see cref="FastSslStream"/> (asynchronously); engine users answer with <see cref="SslConnection.DecideEarlyData"/>.
    /// </summary>
    public ISslEarlyDataReplayGuard? EarlyDataReplayGuard { get; set; }

    /// <summary>
    /// How long the handshake waits for <see cref="EarlyDataReplayGuard"/> before rejecting the early data. Default 250 ms; zero to one
    /// minute (<see cref="SslContext.MaxServerSessionLookupTimeout"/>), else creating the context throws <see cref="ArgumentOutOfRangeException"/>.
    /// </summary>
    public TimeSpan EarlyDataReplayGuardTimeout { get; set; } = TimeSpan.FromMilliseconds(250);
}
