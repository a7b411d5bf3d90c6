using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FastSession.AspNetCore;

public sealed partial class FastSessionServerOptions
{
    /// <summary>
    /// Accept TLS 1.3 early data (0-RTT): a resumed client's first request travels with its ClientHello and can be replayed by
    /// anyone who captured it. Default false. Turn it on only with <see cref="FastSessionEarlyDataExtensions.UseTooEarlyForUnsafeRequests"/>
    /// (or a check of <see cref="IFastSessionEarlyDataFeature.IsEarlyData"/> of your own) so that only safe requests run from early data
    /// (RFC 8470). <see cref="SslContextOptions.DangerousEnableReplayableEarlyData"/> underneath.
    /// </summary>
    public bool DangerousEnableReplayableEarlyData { get; set; }

    /// <summary>Fleet-wide anti-replay (<see cref="SslServerOptions.EarlyDataReplayGuard"/>); null: OpenSSL's single-use tickets in this process.</summary>
    public ISslEarlyDataReplayGuard? EarlyDataReplayGuard { get; set; }

    /// <summary>Early data a ticket allows (<see cref="SslContextOptions.MaxEarlyData"/>). Default 16384.</summary>
    public int MaxEarlyData { get; set; } = 16384;

    private void ApplyEarlyData(SslServerOptions server)
    {
        if (!DangerousEnableReplayableEarlyData)
        {
            return;
        }
        server.DangerousEnableReplayableEarlyData = true;
        server.MaxEarlyData = MaxEarlyData;
        server.EarlyDataReplayGuard = EarlyDataReplayGuard;
        if (server.MaxVersion != TlsVersion.Tls13)
        {
            throw new NotSupportedException("DangerousEnableReplayableEarlyData needs TLS 1.3 in SslProtocols.");
        }
    }
}

/// <summary>
/// Whether a request's bytes arrived as TLS 1.3 early data (0-RTT), a connection feature
/// (<c>HttpContext.Features.Get&lt;IFastSessionEarlyDataFeature&gt;()</c>). HTTP/1.1: the connection's first request is early data
/// when its bytes were among those read before the handshake completed.
/// </summary>
public interface IFastSessionEarlyDataFeature
{
    /// <summary><c>SSL_get_early_data_status</c> of the connection.</summary>
    SslEarlyDataStatus Status { get; }

    /// <summary>How many of the connection's first bytes arrived as early data.</summary>
    int EarlyDataLength { get; }

    /// <summary>Whether the request being served is the one that arrived as early data (the first on an accepted 0-RTT connection).</summary>
    bool IsEarlyData { get; }
}

internal sealed class FastSessionEarlyDataFeature(FastSslStream tls) : IFastSessionEarlyDataFeature
{
    private int _requests;
    private bool _current;

    public SslEarlyDataStatus Status { get; } = tls.EarlyDataStatus;

    public int EarlyDataLength { get; } = tls.EarlyDataLength;

    public bool IsEarlyData => _current;

    // The policy middleware calls this once per request: the first request of an accepted 0-RTT connection is the early one.
    internal bool BeginRequest()
    {
        _current = Interlocked.Increment(ref _requests) == 1 && EarlyDataLength > 0;
        return _current;
    }
}

/// <summary>RFC 8470 for Kestrel with FastSession: early data only for safe methods, 425 Too Early otherwise.</summary>
public static class FastSessionEarlyDataExtensions
{
    /// <summary>
    /// Marks each request that arrived as early data (<see cref="IFastSessionEarlyDataFeature.IsEarlyData"/>, and the request header
    /// <c>Early-Data: 1</c> for the application and anything it forwards to, RFC 8470 section 5.1) and answers 425 Too Early to such
    /// a request unless its method is safe (GET, HEAD, OPTIONS, TRACE): the client retries it after the handshake, where it cannot
    /// be replayed. Requests of connections without early data pass untouched. Put it first in the pipeline.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="app"/> is null.</exception>
    public static IApplicationBuilder UseTooEarlyForUnsafeRequests(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use(static (context, next) =>
        {
            if (context.Features.Get<IFastSessionEarlyDataFeature>() is FastSessionEarlyDataFeature early && early.BeginRequest())
            {
                context.Request.Headers["Early-Data"] = "1";
                if (!(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) ||
                      HttpMethods.IsOptions(context.Request.Method) || HttpMethods.IsTrace(context.Request.Method)))
                {
                    context.Response.StatusCode = 425; // Too Early (RFC 8470); StatusCodes has no constant for it
                    return Task.CompletedTask;
                }
            }
            return next(context);
        });
    }
}
