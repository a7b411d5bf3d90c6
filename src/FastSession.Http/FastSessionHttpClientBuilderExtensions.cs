using System;
using System.Collections.Concurrent;
using FastSession.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>IHttpClientFactory integration.</summary>
public static class FastSessionHttpClientBuilderExtensions
{
    /// <summary>
    /// Makes <see cref="FastSessionHttpHandler"/> the primary handler of this named client. IHttpClientFactory rotates primary
    /// handlers (HandlerLifetime); every handler of the name shares one <see cref="FastSessionConnector"/> (context and session
    /// cache), so connections keep resuming across rotations. The connectors belong to the container and are freed with it.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IHttpClientBuilder UseFastSession(this IHttpClientBuilder builder, Action<FastSessionClientSettings>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<FastSessionConnectors>();
        string name = builder.Name;
        return builder.ConfigurePrimaryHttpMessageHandler(services =>
            new FastSessionHttpHandler(services.GetRequiredService<FastSessionConnectors>().GetOrCreate(name, configure)));
    }
}

/// <summary>The connectors of IHttpClientFactory's named clients (one per name); disposed with the container.</summary>
public sealed class FastSessionConnectors : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<FastSessionConnector>> _connectors = new(StringComparer.Ordinal);
    private int _disposed;

    /// <summary>The connector of <paramref name="name"/>, created with <paramref name="configure"/> the first time.</summary>
    /// <exception cref="ObjectDisposedException">The container was disposed.</exception>
    public FastSessionConnector GetOrCreate(string name, Action<FastSessionClientSettings>? configure)
    {
        ObjectDisposedException.ThrowIf(System.Threading.Volatile.Read(ref _disposed) != 0, this);
        return _connectors.GetOrAdd(name, _ => new Lazy<FastSessionConnector>(() =>
        {
            var settings = new FastSessionClientSettings();
            configure?.Invoke(settings);
            return new FastSessionConnector(settings);
        })).Value;
    }

    /// <summary>Frees every connector (<c>SSL_CTX_free</c>, <c>SSL_SESSION_free</c> of the cached sessions).</summary>
    public void Dispose()
    {
        if (System.Threading.Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        foreach (Lazy<FastSessionConnector> connector in _connectors.Values)
        {
            if (connector.IsValueCreated)
            {
                connector.Value.Dispose();
            }
        }
    }
}
