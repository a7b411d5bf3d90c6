using System;
using FastSession.Interop;

namespace FastSession;

public sealed partial class SslContext
{
    /// <summary>Whether early data (0-RTT) is on (<see cref="SslContextOptions.DangerousEnableReplayableEarlyData"/>).</summary>
    public bool EarlyDataEnabled { get; private set; }

    /// <summary>Server: the early data a ticket allows and the server reads (<c>SSL_CTX_get_max_early_data</c>); 0 when off.</summary>
    public int MaxEarlyData { get; private set; }

    internal SslEarlyDataPolicy? EarlyDataPolicy { get; private set; }

    internal ISslEarlyDataReplayGuard? EarlyDataReplayGuard { get; private set; }

    internal TimeSpan EarlyDataReplayGuardTimeout { get; private set; }

    // The ticket lifetime (SSL_CTX_set_timeout): how long a replay record must live.
    internal TimeSpan EarlyDataTicketLifetime { get; private set; }

    /// <summary>Applies the early-data options (<c>SSL_CTX_set_max_early_data</c>, <c>SSL_CTX_set_recv_max_early_data</c>, the decision hook).</summary>
    private void ApplyEarlyData(SslContextOptions options)
    {
        options.ValidateEarlyData();
        SslServerOptions? server = options as SslServerOptions;
        if (!options.DangerousEnableReplayableEarlyData)
        {
            if (server is { EarlyDataPolicy: not null } or { EarlyDataReplayGuard: not null })
            {
                throw new ArgumentException("EarlyDataPolicy and EarlyDataReplayGuard need DangerousEnableReplayableEarlyData = true.");
            }
            return;
        }
        int flags = 0;
        if (server is not null)
        {
            if (server.EarlyDataPolicy is not null || server.EarlyDataReplayGuard is not null)
            {
                flags |= EarlyDataNative.FlagDecide;
            }
            if (server.EarlyDataReplayGuard is not null)
            {
                flags |= EarlyDataNative.FlagNoAntiReplay;
            }
            EarlyDataPolicy = server.EarlyDataPolicy;
            EarlyDataReplayGuard = server.EarlyDataReplayGuard;
            EarlyDataReplayGuardTimeout = server.EarlyDataReplayGuardTimeout;
        }
        uint max = server is not null ? (uint)options.MaxEarlyData : 0;
        int status = EarlyDataNative.SslCtxSetEarlyData(this, max, server is not null ? (uint)options.MaxEarlyData : 16384, flags);
        if (status != ShimConstants.Ok)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("SSL_CTX_set_max_early_data"));
        }
        EarlyDataEnabled = true;
        MaxEarlyData = (int)max;
        EarlyDataTicketLifetime = options.SessionTimeout > TimeSpan.Zero ? options.SessionTimeout : TimeSpan.FromSeconds(7200);
    }
}
