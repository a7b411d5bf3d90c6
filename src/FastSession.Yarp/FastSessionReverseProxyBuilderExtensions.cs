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
    /// <summary>Backend connections of every cluster go through FastSession (replaces YARP's <see cref="IForwarderHttpClientFactory"/>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IReverseProxyBuilder UseFastSession(this IReverseProxyBuilder builder, Action<FastSessionClientSettings>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(services =>
        {
            var settings = new FastSessionClientSettings();
            configure?.Invoke(settings);
            return new FastSessionForwarderHttpClientFactory(services.GetRequiredService<ILogger<ForwarderHttpClientFactory>>(), settings);
        });
        builder.Services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory>(services => services.GetRequiredService<FastSessionForwarderHttpClientFactory>()));
        return builder;
    }
}
