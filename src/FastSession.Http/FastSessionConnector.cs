using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Http;

/// <summary>Counts of a <see cref="FastSessionConnector"/>'s TLS connections.</summary>
/// <param name="Connections">TLS handshakes completed.</param>
/// <param name="Resumed">Of those, how many resumed a session (<c>SSL_session_reused</c>).</param>
/// <param name="Failed">Handshakes (or certificate checks) that failed.</param>
public readonly record struct FastSessionConnectorStatistics(long Connections, long Resumed, long Failed);

/// <summary>
/// The <see cref="SocketsHttpHandler.ConnectCallback"/> that opens FastSession TLS connections: a TCP connection, a
/// <see cref="FastSslStream"/> handshake that resumes from <see cref="SessionCache"/>, the certificate checks, and a hand-over to
/// <see cref="SocketsHttpHandler"/> as an already authenticated <see cref="System.Net.Security.SslStream"/> (so the URL keeps
/// its <c>https://</c> scheme and SocketsHttpHandler runs no TLS of its own). Plain <c>http://</c> requests get the TCP stream.
/// Used by <see cref="FastSessionHttpHandler"/> and the YARP forwarder factory; one connector serves any number of handlers.
/// </summary>
public sealed partial class FastSessionConnector : IDisposable
{
    private readonly FastSessionClientSettings _settings;
    private readonly SslContext _context;
    // Offers h2 then http/1.1, for connections that may carry HTTP/2.
    private readonly SslContext _http2;
    private readonly SslClientSessionCache _cache;
    private readonly bool _ownsCache;
    private long _connections, _resumed, _failed;
    // Clean closes SocketsHttpHandler started by disposing connections; Dispose lets them finish (bounded) before freeing.
    private readonly ConcurrentDictionary<Task, byte> _closing = new();

    /// <summary>Creates the client context (<c>SSL_CTX_new</c> through <see cref="SslContext.CreateClient"/>) from a copy of <paramref name="settings"/>.</summary>
    /// <exception cref="ArgumentException">The settings are invalid (versions, no trust at all, client certificates without a key).</exception>
    /// <exception cref="InvalidOperationException">OpenSSL refused the context (a bad trusted or client certificate).</exception>
    public FastSessionConnector(FastSessionClientSettings? settings = null)
    {
        _settings = (settings ?? new FastSessionClientSettings()).Clone();
        SslClientOptions options = _settings.ToClientOptions();
        options.ApplicationProtocols.Add("http/1.1");
        // OpenSSL has its own copies now; a long-lived connector must not pin the caller's certificates.
        _settings.TrustedCertificates = null;
        _settings.ClientCertificates = null;
        _ownsCache = _settings.SessionCache is null;
        _cache = _settings.SessionCache ?? new SslClientSessionCache();
        try
        {
            _context = SslContext.CreateClient(options);
            _context.SessionEstablished = _cache.OnSessionEstablished;
            options.ApplicationProtocols.Insert(0, "h2");
            _http2 = SslContext.CreateClient(options);
            _http2.SessionEstablished = _cache.OnSessionEstablished;
        }
        catch
        {
            _context?.Dispose();
            if (_ownsCache)
            {
                _cache.Dispose();
            }
            throw;
        }
    }

    /// <summary>The session cache connections resume from (keyed by host, port and ALPN).</summary>
    public SslClientSessionCache SessionCache => _cache;

    /// <summary>The client context of HTTP/1.x connections (ALPN http/1.1).</summary>
    public SslContext Context => _context;

    /// <summary>The client context of connections that may carry HTTP/2 (ALPN h2, http/1.1).</summary>
    public SslContext Http2Context => _http2;

    /// <summary>A snapshot of the connection counts.</summary>
    public FastSessionConnectorStatistics Statistics =>
        new(Interlocked.Read(ref _connections), Interlocked.Read(ref _resumed), Interlocked.Read(ref _failed));

    /// <summary>
    /// Connects to <see cref="SocketsHttpConnectionContext.DnsEndPoint"/>; for an <c>https</c> request runs the FastSession
    /// handshake (<c>SSL_do_handshake</c>, resuming with <c>SSL_set_session</c> from the cache) and returns the connection as an
    /// authenticated <see cref="System.Net.Security.SslStream"/>. Assign to <see cref="SocketsHttpHandler.ConnectCallback"/>.
    /// With <see cref="FastSessionClientSettings.DangerousEnableReplayableEarlyData"/>, HTTP/1.1 connections defer the handshake to
    /// their first write (which may then travel as early data): its failures surface from that write, inside the request, as an
    /// <see cref="HttpRequestException"/> (<see cref="HttpRequestError.SecureConnectionError"/>) around the <see cref="SslHandshakeException"/>.
    /// </summary>
    /// <exception cref="SocketException">The TCP connection failed.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed, e.g. the server's certificate did not
    /// verify or does not name the host (an <see cref="SslHandshakeException"/> naming the reason).</exception>
    /// <exception cref="ObjectDisposedException">The connector was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (SocketsHttpHandler's ConnectTimeout).</exception>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ObjectDisposedException.ThrowIf(_context.IsDisposed, this);
        DnsEndPoint endPoint = context.DnsEndPoint;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var network = new NetworkStream(socket, ownsSocket: true);
        Uri? uri = context.InitialRequestMessage.RequestUri;
        if (uri is null || !string.Equals(uri.Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase))
        {
            return network;
        }
        // A request that may be answered over HTTP/2 gets a connection that offers h2 (SocketsHttpHandler then reads the outcome);
        // HTTP/1.x requests offer http/1.1 only, so a server cannot pick a protocol the pool will not speak.
        HttpRequestMessage initial = context.InitialRequestMessage;
        bool http2 = _settings.EnableHttp2 && (initial.Version.Major >= 2 || initial.VersionPolicy == HttpVersionPolicy.RequestVersionOrHigher);
        if (!http2 && _settings.DangerousEnableReplayableEarlyData)
        {
            // The pool may send another request than the initial one: the stream decides from the bytes of its first write.
            return new FastSessionEarlyDataHttpStream(new FastSslStream(network), this, endPoint.Host, endPoint.Port);
        }
        var tls = new FastSslStream(network);
        try
        {
            await tls.AuthenticateAsClientAsync(http2 ? _http2 : _context, endPoint.Host, endPoint.Port, _cache, http2 ? "h2" : null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Increment(ref _failed);
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        Interlocked.Increment(ref _connections);
        if (tls.SessionReused)
        {
            Interlocked.Increment(ref _resumed);
        }
        try
        {
            return await FastSessionHttpStream.CreateAsync(tls, http2, this, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal void TrackClose(Task closing)
    {
        if (_closing.TryAdd(closing, 0))
        {
            closing.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _closing,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Waits (up to two seconds) for the clean closes of connections already disposed, then frees the contexts (<c>SSL_CTX_free</c>)
    /// and the session cache when the connector created it. Open connections keep working.
    /// </summary>
    public void Dispose()
    {
        Task[] closing = [.. _closing.Keys];
        if (closing.Length > 0)
        {
            Task.WaitAll(closing, TimeSpan.FromSeconds(2));
        }
        _context.Dispose();
        _http2.Dispose();
        if (_ownsCache)
        {
            _cache.Dispose();
        }
    }
}
