using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Http;

// The close of the SslStream subclasses SocketsHttpHandler is handed (FastSessionHttpStream, FastSessionEarlyDataHttpStream): once,
// through FastSslStream's dispose (close_notify bounded to one second, then the connection and the socket).
internal static class HttpStreamClose
{
    // Dispose(bool): starts the close and returns at once. SocketsHttpHandler disposes connections synchronously, and blocking a
    // pool thread on that write would stall the pool under load; the connector waits for pending closes when it is disposed.
    internal static void Start(FastSslStream tls, FastSessionConnector? owner, ref int disposed)
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            ValueTask closing = tls.DisposeAsync();
            if (!closing.IsCompleted)
            {
                owner?.TrackClose(closing.AsTask());
            }
        }
    }
}
