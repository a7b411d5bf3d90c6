using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Http;

public sealed partial class FastSessionHttpHandler
{
    private const int TooEarly = 425; // RFC 8470; HttpStatusCode has no member for it

    // With early data on: a safe request answered 425 Too Early is sent once more (RFC 8470 section 5.2). SocketsHttpHandler puts the
    // retry on the connection that answered (its handshake is complete by then, so the retry is not early data) or on another
    // one; a server that closes the connection with its 425 may see the retry as early data again, and its second 425 is returned.
    private async Task<HttpResponseMessage> SendRetryingTooEarlyAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response = await _invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode != TooEarly || !MayRetryTooEarly(request))
        {
            return response;
        }
        response.Dispose();
        return await _invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private HttpResponseMessage SendRetryingTooEarly(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response = _invoker.Send(request, cancellationToken);
        if ((int)response.StatusCode != TooEarly || !MayRetryTooEarly(request))
        {
            return response;
        }
        response.Dispose();
        return _invoker.Send(request, cancellationToken);
    }

    /// <summary>
    /// Whether a request answered 425 Too Early is sent again: only the methods this handler may send as early data (GET, HEAD,
    /// OPTIONS; safe, so idempotent) and without content (a content stream may not be readable twice). Never POST, PUT, PATCH, DELETE.
    /// </summary>
    internal static bool MayRetryTooEarly(HttpRequestMessage request) =>
        request.Content is null && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options);
}
