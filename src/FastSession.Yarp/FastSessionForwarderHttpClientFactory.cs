using System;
using System.Collections.Concurrent;
using System.Net.Http;
using System.Security.Authentication;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace FastSession.Yarp;

/// <summary>
/// YARP's forwarder client factory with FastSession TLS: every cluster's <see cref="SocketsHttpHandler"/> (configured by YARP from
/// the cluster's <see cref="HttpClientConfig"/> first) connects through a <see cref="FastSessionConnector"/>, so backend connections
/// resume from one session cache shared by all clusters. Honoured: <see cref="HttpClientConfig.SslProtocols"/> (TLS 1.2/1.3),
/// <see cref="HttpClientConfig.DangerousAcceptAnyServerCertificate"/>, connection limits and encodings (YARP's own). Refused with
/// <see cref="NotSupportedException"/> when the cluster's client is built: a <see cref="HttpClientConfig.WebProxy"/>, client
/// certificates, other protocols. The cluster's HTTP version is honoured: HTTP/2 (ALPN h2) or HTTP/1.1; HTTP/3 "exact" is refused per request.
/// </summary>
public sealed class FastSessionForwarderHttpClientFactory : ForwarderHttpClientFactory, IDisposable
{
    private readonly FastSessionClientSettings _defaults;
    private readonly SslClientSessionCache _cache = new();
    private readonly ConcurrentDictionary<(TlsVersion, TlsVersion, bool), FastSessionConnector> _connectors = new();
    // YARP never disposes the clients it replaced or holds at shutdown; their pooled connections keep the contexts alive.
    private readonly ConcurrentBag<SocketsHttpHandler> _handlers = new();
    private int _disposed;

    /// <summary>Creates the factory; <paramref name="defaults"/> (trust, tickets) applies to every cluster before its own settings.</summary>
    public FastSessionForwarderHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger, FastSessionClientSettings? defaults = null)
        : base(logger)
    {
        _defaults = defaults ?? new FastSessionClientSettings();
    }

    /// <summary>The session cache every cluster's connections resume from.</summary>
    public SslClientSessionCache SessionCache => _cache;

    /// <summary>TLS connection counts summed over every cluster.</summary>
    public FastSessionConnectorStatistics Statistics
    {
        get
        {
            long connections = 0, resumed = 0, failed = 0;
            foreach (FastSessionConnector connector in _connectors.Values)
            {
                FastSessionConnectorStatistics s = connector.Statistics;
                connections += s.Connections;
                resumed += s.Resumed;
                failed += s.Failed;
            }
            return new FastSessionConnectorStatistics(connections, resumed, failed);
        }
    }

    /// <summary>YARP's configuration, then FastSession as the connect callback.</summary>
    /// <exception cref="NotSupportedException">The cluster asks for a proxy, client certificates or a protocol other than TLS 1.2/1.3.</exception>
    /// <exception cref="ObjectDisposedException">The factory was disposed.</exception>
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        base.ConfigureHandler(context, handler);
        HttpClientConfig config = context.NewConfig;
        string cluster = context.ClusterId;
        if (config.WebProxy?.Address is not null)
        {
            throw new NotSupportedException($"Cluster '{cluster}': FastSession cannot forward through a WebProxy (SocketsHttpHandler runs its own TLS in the tunnel).");
        }
        if (handler.SslOptions.ClientCertificates is { Count: > 0 } || handler.SslOptions.LocalCertificateSelectionCallback is not null)
        {
            throw new NotSupportedException($"Cluster '{cluster}': FastSession's client context has no client certificates yet.");
        }
        (TlsVersion min, TlsVersion max) = Versions(config.SslProtocols, cluster);
        bool validate = _defaults.ValidateServerCertificate && config.DangerousAcceptAnyServerCertificate != true;
        FastSessionConnector connector = _connectors.GetOrAdd((min, max, validate), static (key, self) =>
        {
            FastSessionClientSettings settings = self._defaults.Clone();
            settings.MinVersion = key.Item1;
            settings.MaxVersion = key.Item2;
            settings.ValidateServerCertificate = key.Item3;
            settings.SessionCache = self._cache;
            return new FastSessionConnector(settings);
        }, this);
        handler.ConnectCallback = connector.ConnectAsync;
        _handlers.Add(handler);
    }

    /// <summary>Checks each request's HTTP version against what FastSession can carry, then YARP's wrapping.</summary>
    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new VersionCheck(base.WrapHandler(context, handler));

    private static (TlsVersion, TlsVersion) Versions(SslProtocols? protocols, string cluster)
    {
        const SslProtocols both = SslProtocols.Tls12 | SslProtocols.Tls13;
        SslProtocols p = protocols ?? SslProtocols.None;
        if ((p & ~both) != 0)
        {
            throw new NotSupportedException($"Cluster '{cluster}': SslProtocols {p}; FastSession negotiates TLS 1.2 and TLS 1.3 only.");
        }
        return p switch
        {
            SslProtocols.Tls12 => (TlsVersion.Tls12, TlsVersion.Tls12),
            SslProtocols.Tls13 => (TlsVersion.Tls13, TlsVersion.Tls13),
            _ => (TlsVersion.Tls12, TlsVersion.Tls13),
        };
    }

    /// <summary>Closes every client's pooled connections, then frees every cluster's context and the shared session cache.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        foreach (SocketsHttpHandler handler in _handlers)
        {
            handler.Dispose();
        }
        foreach (FastSessionConnector connector in _connectors.Values)
        {
            connector.Dispose();
        }
        _connectors.Clear();
        _cache.Dispose();
    }

    private sealed class VersionCheck(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            FastSessionHttpHandler.CheckVersion(request);
            return base.SendAsync(request, cancellationToken);
        }

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            FastSessionHttpHandler.CheckVersion(request);
            return base.Send(request, cancellationToken);
        }
    }
}
