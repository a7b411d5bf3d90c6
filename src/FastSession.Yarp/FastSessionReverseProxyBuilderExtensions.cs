using System;
using FastSession.Http;
using FastSession.Yarp;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of <see cref="FastSessionForwarderHttpClientFactory"/>.</summary>
public static class FastSessionReverseProxyBuilderExtensions
{
    /// <summary>
    /// Backend connections of every cluster go through FastSession (replaces YARP's <see cref="IForwarderHttpClientFactory"/>).
    /// <paramref name="configureHttpClient"/> takes the place of YARP's <c>ConfigureHttpClient</c> (which registers a factory of its
    /// own): it sees each cluster's handler after YARP's configuration; FastSession then honours <c>SslOptions.ClientCertificates</c>
    /// and <c>SslOptions.EnabledSslProtocols</c> and refuses what it cannot carry (a proxy, a certificate selection callback).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IReverseProxyBuilder UseFastSession(this IReverseProxyBuilder builder, Action<FastSessionClientSettings>? configure = null,
        Action<ForwarderHttpClientContext, System.Net.Http.SocketsHttpHandler>? configureHttpClient = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(services =>
        {
            var settings = new FastSessionClientSettings();
            configure?.Invoke(settings);
            return new FastSessionForwarderHttpClientFactory(services.GetRequiredService<ILogger<ForwarderHttpClientFactory>>(), settings, configureHttpClient);
        });
        builder.Services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory>(services => services.GetRequiredService<FastSessionForwarderHttpClientFactory>()));
        return builder;
    }
}
