using System;
using System.Collections.Concurrent;
using System.Net.Http;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
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
/// resume from one session cache shared by all clusters (one per client certificate). Honoured: <see cref="HttpClientConfig.SslProtocols"/> (TLS 1.2/1.3),
/// <see cref="HttpClientConfig.DangerousAcceptAnyServerCertificate"/>, the client certificate a cluster's handler carries
/// (<c>SslOptions.ClientCertificates</c>, the first with a private key, sent for mutual TLS), connection limits and encodings (YARP's
/// own). Refused with <see cref="NotSupportedException"/> when the cluster's client is built: a <see cref="HttpClientConfig.WebProxy"/>,
/// a <c>LocalCertificateSelectionCallback</c> (OpenSSL's client context holds one certificate), other protocols. The cluster's HTTP version is honoured: HTTP/2 (ALPN h2) or HTTP/1.1; HTTP/3 "exact" is refused per request.
/// </summary>
public sealed class FastSessionForwarderHttpClientFactory : ForwarderHttpClientFactory, IDisposable
{
    private readonly FastSessionClientSettings _defaults;
    private readonly Action<ForwarderHttpClientContext, SocketsHttpHandler>? _configureHttpClient;
    private readonly SslClientSessionCache _cache = new();
    // Sessions remember the client certificate they were authenticated with, and FastSslStream re-binds a cached session to
    // whichever context takes it (DER, S12): a cluster without a certificate must never resume a session of one with a
    // certificate. So each client identity gets its own cache; clusters without one share _cache.
    private readonly ConcurrentDictionary<string, SslClientSessionCache> _identityCaches = new(StringComparer.Ordinal);
    // One connector (client context) per distinct TLS configuration: versions, verification, client certificate thumbprint.
    private readonly ConcurrentDictionary<(TlsVersion, TlsVersion, bool, string?), FastSessionConnector> _connectors = new();
    // YARP never disposes the clients it replaced or holds at shutdown; their pooled connections keep the contexts alive.
    private readonly ConcurrentBag<SocketsHttpHandler> _handlers = new();
    private int _disposed;

    /// <summary>
    /// Creates the factory; <paramref name="defaults"/> (trust, tickets) applies to every cluster before its own settings.
    /// <paramref name="configureHttpClient"/> is YARP's <c>ConfigureHttpClient</c> hook (which would otherwise replace this factory):
    /// it runs after YARP configured a cluster's handler and before FastSession reads it, e.g. to add
    /// <c>handler.SslOptions.ClientCertificates</c> for a cluster whose backend asks for mutual TLS.
    /// </summary>
    public FastSessionForwarderHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger, FastSessionClientSettings? defaults = null,
        Action<ForwarderHttpClientContext, SocketsHttpHandler>? configureHttpClient = null)
        : base(logger)
    {
        _defaults = defaults ?? new FastSessionClientSettings();
        _configureHttpClient = configureHttpClient;
    }

    /// <summary>The session cache the connections of every cluster without a client certificate resume from (clusters with one
    /// have a cache per certificate, so no connection resumes a session authenticated with a certificate it does not hold).</summary>
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
    /// <exception cref="NotSupportedException">The cluster asks for a proxy, a client certificate selection callback or a protocol other than TLS 1.2/1.3.</exception>
    /// <exception cref="ArgumentException">The cluster's client certificates have no private key.</exception>
    /// <exception cref="ObjectDisposedException">The factory was disposed.</exception>
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        base.ConfigureHandler(context, handler);
        _configureHttpClient?.Invoke(context, handler);
        HttpClientConfig config = context.NewConfig;
        string cluster = context.ClusterId;
        if (config.WebProxy?.Address is not null)
        {
            throw new NotSupportedException($"Cluster '{cluster}': FastSession cannot forward through a WebProxy (SocketsHttpHandler runs its own TLS in the tunnel).");
        }
        if (handler.SslOptions.LocalCertificateSelectionCallback is not null)
        {
            throw new NotSupportedException($"Cluster '{cluster}': FastSession cannot run a LocalCertificateSelectionCallback (OpenSSL's client context holds one certificate); put the certificate in SslOptions.ClientCertificates.");
        }
        X509Certificate2Collection? clientCertificates = null;
        if (handler.SslOptions.ClientCertificates is { Count: > 0 } given)
        {
            clientCertificates = new X509Certificate2Collection();
            foreach (X509Certificate certificate in given)
            {
                if (certificate is X509Certificate2 { HasPrivateKey: true } withKey)
                {
                    clientCertificates.Add(withKey);
                }
            }
            if (clientCertificates.Count == 0)
            {
                throw new ArgumentException($"Cluster '{cluster}': no client certificate has a private key.");
            }
        }
        (TlsVersion min, TlsVersion max) = Versions(handler.SslOptions.EnabledSslProtocols, cluster);
        bool validate = _defaults.ValidateServerCertificate && config.DangerousAcceptAnyServerCertificate != true;
        FastSessionConnector connector = _connectors.GetOrAdd((min, max, validate, clientCertificates?[0].Thumbprint), static (key, state) =>
        {
            FastSessionClientSettings settings = state.self._defaults.Clone();
            settings.MinVersion = key.Item1;
            settings.MaxVersion = key.Item2;
            settings.ValidateServerCertificate = key.Item3;
            if (state.clientCertificates is not null)
            {
                settings.ClientCertificates = state.clientCertificates;
            }
            settings.SessionCache = key.Item4 is null ? state.self._cache
                : state.self._identityCaches.GetOrAdd(key.Item4, static _ => new SslClientSessionCache());
            return new FastSessionConnector(settings);
        }, (self: this, clientCertificates));
        handler.ConnectCallback = connector.ConnectAsync;
        _handlers.Add(handler);
    }

    /// <summary>Checks each request's HTTP version against what FastSession can carry, then YARP's wrapping.</summary>
    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new VersionCheck(base.WrapHandler(context, handler));

    private static (TlsVersion, TlsVersion) Versions(SslProtocols protocols, string cluster)
    {
        const SslProtocols both = SslProtocols.Tls12 | SslProtocols.Tls13;
        SslProtocols p = protocols;
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
        foreach (SslClientSessionCache cache in _identityCaches.Values)
        {
            cache.Dispose();
        }
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
