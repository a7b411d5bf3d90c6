using System;
using System.Security.Cryptography.X509Certificates;
using FastSession.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microsoft.AspNetCore.Server.Kestrel.Core;

/// <summary>Kestrel endpoints over FastSession TLS, the way <c>UseHttps</c> configures SslStream.</summary>
public static class FastSessionListenOptionsExtensions
{
    /// <summary>TLS on this endpoint through FastSession with <paramref name="serverCertificate"/> (and its private key).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="serverCertificate"/> is null.</exception>
    /// <exception cref="ArgumentException">The certificate has no private key.</exception>
    public static ListenOptions UseFastSession(this ListenOptions listenOptions, X509Certificate2 serverCertificate)
    {
        ArgumentNullException.ThrowIfNull(serverCertificate);
        return listenOptions.UseFastSession(options => options.ServerCertificate = serverCertificate);
    }

    /// <summary>
    /// TLS on this endpoint through FastSession (<c>SSL_CTX_new</c> per certificate, <c>SSL_do_handshake</c> per connection).
    /// Reads <see cref="ListenOptions.Protocols"/> now, as <c>UseHttps</c> does: Http1AndHttp2 offers ALPN h2 and http/1.1.
    /// The connection gets <c>ITlsConnectionFeature</c>, <c>ITlsApplicationProtocolFeature</c>, <c>ITlsHandshakeFeature</c> and
    /// <see cref="IFastSessionFeature"/>. The contexts are freed when the application stops.
    /// </summary>
    /// <exception cref="InvalidOperationException">Neither a certificate nor a selector was given.</exception>
    /// <exception cref="NotSupportedException">ClientCertificateMode.DelayCertificate or an SslProtocols value other than TLS 1.2/1.3 was asked for.</exception>
    /// <exception cref="ArgumentException">The certificate has no private key, or OpenSSL refused it.</exception>
    public static ListenOptions UseFastSession(this ListenOptions listenOptions, Action<FastSessionServerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new FastSessionServerOptions();
        configure(options);
        options.Validate();
        IServiceProvider services = listenOptions.ApplicationServices;
        var middleware = new FastSessionConnectionMiddleware(
            options, listenOptions.Protocols, services.GetService<ILoggerFactory>(),
            KestrelTlsMetrics.Create(services.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(middleware.Dispose);
        listenOptions.Use(next => context => middleware.OnConnectionAsync(context, next));
        return listenOptions;
    }
}
