using System;
using System.Net.Http;
using System.Security.Authentication;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Http;

public sealed partial class FastSessionConnector
{
    /// <summary>Whether <see cref="FastSessionClientSettings.DangerousEnableReplayableEarlyData"/> is on for this connector (HTTP/1.1 connections then
    /// defer the handshake and may send their first request with <c>SSL_write_early_data</c>). Throws nothing.</summary>
    public bool EarlyDataEnabled => _settings.DangerousEnableReplayableEarlyData;

    // FastSessionEarlyDataHttpStream, at its first write (or read): the handshake ConnectAsync did not run, with earlyData sent as
    // 0-RTT when the cached session allows (the stream writes the rest after the handshake), counted as ConnectAsync counts.
    // A failed handshake (an SslHandshakeException, e.g. the certificate) is thrown as an HttpRequestException (SecureConnectionError).
    internal async Task HandshakeDeferredAsync(FastSslStream tls, string host, int port, ReadOnlyMemory<byte> earlyData, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_context.IsDisposed, this);
        try
        {
            if (earlyData.IsEmpty)
            {
                await tls.AuthenticateAsClientAsync(_context, host, port, _cache, null, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await tls.AuthenticateAsClientAsync(_context, host, port, _cache, earlyData, null, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (AuthenticationException e)
        {
            // Thrown from a write, SocketsHttpHandler would let it through as is (it wraps only IOException): wrapped as it wraps a
            // failed connect callback, so callers see an HttpRequestException either way.
            Interlocked.Increment(ref _failed);
            throw new HttpRequestException(HttpRequestError.SecureConnectionError, $"{e.Message} ({host}:{port})", e);
        }
        catch
        {
            Interlocked.Increment(ref _failed);
            throw;
        }
        Interlocked.Increment(ref _connections);
        if (tls.SessionReused)
        {
            Interlocked.Increment(ref _resumed);
        }
    }
}
