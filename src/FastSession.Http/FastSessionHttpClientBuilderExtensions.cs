using System;
using FastSession;
using FastSession.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>IHttpClientFactory integration.</summary>
public static class FastSessionHttpClientBuilderExtensions
{
    /// <summary>
    /// Makes <see cref="FastSessionHttpHandler"/> the primary handler of this named client. The factory rotates primary handlers
    /// (HandlerLifetime); to keep resuming across rotations every handler shares one <see cref="SslClientSessionCache"/>
    /// (a singleton in the container, registered here if absent).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IHttpClientBuilder UseFastSession(this IHttpClientBuilder builder, Action<FastSessionHttpHandler>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<FastSessionSharedCache>();
        return builder.ConfigurePrimaryHttpMessageHandler(services =>
        {
            var settings = new FastSessionClientSettings { SessionCache = services.GetRequiredService<FastSessionSharedCache>().Cache };
            var handler = new FastSessionHttpHandler(settings);
            configure?.Invoke(handler);
            return handler;
        });
    }
}

/// <summary>The session cache every <see cref="FastSessionHttpHandler"/> made by IHttpClientFactory shares; disposed with the container.</summary>
public sealed class FastSessionSharedCache : IDisposable
{
    /// <summary>The cache.</summary>
    public SslClientSessionCache Cache { get; } = new();

    /// <summary>Frees the cached sessions (<c>SSL_SESSION_free</c>).</summary>
    public void Dispose() => Cache.Dispose();
}
