using System;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Http;

public sealed partial class FastSessionConnector
{
    /// <summary>Whether <see cref="FastSessionClientSettings.DangerousEnableReplayableEarlyData"/> is on for this connector.</summary>
    public bool EarlyDataEnabled => _settings.DangerousEnableReplayableEarlyData;

    // FastSessionEarlyDataHttpStream, at its first write (or read): the handshake ConnectAsync did not run, with earlyData sent as
    // 0-RTT when the cached session allows (the stream writes the rest after the handshake), counted as ConnectAsync counts.
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
