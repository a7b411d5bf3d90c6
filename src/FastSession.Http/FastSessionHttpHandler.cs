using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Http;

/// <summary>
/// An <see cref="HttpMessageHandler"/> whose TLS is FastSession: <c>new HttpClient(new FastSessionHttpHandler())</c> works with
/// plain <c>https://</c> URLs, verifies servers against the system trust store and their host names, and resumes sessions on new
/// connections from an in-memory <see cref="SslClientSessionCache"/>. Connection pooling, HTTP/1.1, redirects and timeouts are
/// <see cref="SocketsHttpHandler"/>'s, which this handler wraps with a <see cref="FastSessionConnector"/> as its <c>ConnectCallback</c>.
/// Settings are frozen by the first request, as SocketsHttpHandler's are.
/// </summary>
/// <remarks>
/// HTTP/2: requests with <see cref="HttpRequestMessage.Version"/> 2.0 open connections that offer ALPN h2; when the server picks
/// it, SocketsHttpHandler speaks HTTP/2 (it reads the protocol from the returned SslStream, see <see cref="FastSessionHttpStream"/>).
/// HTTP/3 runs over QUIC, which SocketsHttpHandler opens itself, so requests that insist on it are refused.
/// </remarks>
public sealed partial class FastSessionHttpHandler : HttpMessageHandler
{
    private readonly SocketsHttpHandler _sockets;
    private readonly HttpMessageInvoker _invoker;
    private readonly FastSessionClientSettings _settings;
    private FastSessionConnector? _connector;
    private readonly bool _ownsConnector = true;
    private readonly object _gate = new();
    private int _disposed;

    /// <summary>Secure defaults: system trust store, host-name check, TLS 1.2–1.3, an in-memory session cache.</summary>
    public FastSessionHttpHandler() : this(new FastSessionClientSettings())
    {
    }

    /// <summary>With the given TLS settings (copied at the first request).</summary>
    public FastSessionHttpHandler(FastSessionClientSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _sockets = new SocketsHttpHandler { ConnectCallback = ConnectAsync, UseProxy = false };
        _invoker = new HttpMessageInvoker(_sockets, disposeHandler: true);
    }

    /// <summary>
    /// Over a connector the caller owns and may share between handlers (its context and session cache): disposing the handler
    /// closes its connections but leaves the connector.
    /// </summary>
    public FastSessionHttpHandler(FastSessionConnector connector) : this(new FastSessionClientSettings())
    {
        ArgumentNullException.ThrowIfNull(connector);
        _connector = connector;
        _ownsConnector = false;
    }

    /// <summary>The TLS settings; changes after the first request have no effect (and none when built over a connector).</summary>
    public FastSessionClientSettings Settings => _settings;

    /// <summary>The session cache connections resume from (created at the first request unless <see cref="FastSessionClientSettings.SessionCache"/> is set).</summary>
    public SslClientSessionCache SessionCache => Connector.SessionCache;

    /// <summary>The connector (context, cache, counts); creating it freezes the settings.</summary>
    /// <exception cref="ObjectDisposedException">The handler was disposed.</exception>
    public FastSessionConnector Connector
    {
        get
        {
            FastSessionConnector? connector = Volatile.Read(ref _connector);
            if (connector is not null)
            {
                return connector;
            }
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                return _connector ??= new FastSessionConnector(_settings);
            }
        }
    }

    /// <summary>TLS connection counts: handshakes, resumed, failed.</summary>
    public FastSessionConnectorStatistics Statistics => Connector.Statistics;

    /// <summary>How long a pooled connection may live (<see cref="SocketsHttpHandler.PooledConnectionLifetime"/>).</summary>
    public TimeSpan PooledConnectionLifetime { get => _sockets.PooledConnectionLifetime; set => _sockets.PooledConnectionLifetime = value; }

    /// <summary>How long an idle pooled connection is kept (<see cref="SocketsHttpHandler.PooledConnectionIdleTimeout"/>).</summary>
    public TimeSpan PooledConnectionIdleTimeout { get => _sockets.PooledConnectionIdleTimeout; set => _sockets.PooledConnectionIdleTimeout = value; }

    /// <summary>Limit for TCP connect plus the TLS handshake (<see cref="SocketsHttpHandler.ConnectTimeout"/>).</summary>
    public TimeSpan ConnectTimeout { get => _sockets.ConnectTimeout; set => _sockets.ConnectTimeout = value; }

    /// <summary>Connections per server (<see cref="SocketsHttpHandler.MaxConnectionsPerServer"/>).</summary>
    public int MaxConnectionsPerServer { get => _sockets.MaxConnectionsPerServer; set => _sockets.MaxConnectionsPerServer = value; }

    /// <summary>Follow redirects (<see cref="SocketsHttpHandler.AllowAutoRedirect"/>).</summary>
    public bool AllowAutoRedirect { get => _sockets.AllowAutoRedirect; set => _sockets.AllowAutoRedirect = value; }

    /// <summary>Use a proxy (<see cref="SocketsHttpHandler.UseProxy"/>). Through a proxy SocketsHttpHandler tunnels and runs its own
    /// TLS, bypassing FastSession, so the handler sets it to false and refuses true.</summary>
    /// <exception cref="NotSupportedException">Set to true.</exception>
    public bool UseProxy
    {
        get => _sockets.UseProxy;
        set => _sockets.UseProxy = value ? throw new NotSupportedException("FastSessionHttpHandler cannot use a proxy: SocketsHttpHandler would run its own TLS through the tunnel.") : false;
    }

    internal SocketsHttpHandler SocketsHandler => _sockets;

    private ValueTask<System.IO.Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken) =>
        Connector.ConnectAsync(context, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The request asks for HTTP/3 without allowing a lower version.</exception>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Prepare(request);
        return Connector.EarlyDataEnabled ? SendRetryingTooEarlyAsync(request, cancellationToken) : _invoker.SendAsync(request, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The request asks for HTTP/3 without allowing a lower version.</exception>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Prepare(request);
        return Connector.EarlyDataEnabled ? SendRetryingTooEarly(request, cancellationToken) : _invoker.Send(request, cancellationToken);
    }

    private void Prepare(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _ = Connector; // freezes the settings before the first connection
        CheckVersion(request);
    }

    /// <summary>Throws when <paramref name="request"/> insists on HTTP/3 over https: SocketsHttpHandler would open QUIC itself, bypassing FastSession.</summary>
    /// <exception cref="NotSupportedException">The request asks for HTTP/3 without allowing a lower version.</exception>
    public static void CheckVersion(HttpRequestMessage request)
    {
        if (request.Version.Major >= 3 && request.VersionPolicy != HttpVersionPolicy.RequestVersionOrLower
            && request.RequestUri is { } uri && string.Equals(uri.Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase))
        {
            throw new NotSupportedException(
                $"HTTP/{request.Version} with {request.VersionPolicy} cannot go over FastSession: HTTP/3 runs over QUIC, which SocketsHttpHandler " +
                "opens itself. Use HttpVersionPolicy.RequestVersionOrLower (HTTP/2 or HTTP/1.1 over FastSession).");
        }
    }

    /// <summary>Closes pooled connections (close_notify each) and frees the connector.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _invoker.Dispose();
            lock (_gate)
            {
                if (_ownsConnector)
                {
                    _connector?.Dispose();
                }
            }
        }
        base.Dispose(disposing);
    }
}
