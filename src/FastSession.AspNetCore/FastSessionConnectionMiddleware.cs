using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.IO.Pipelines;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace FastSession.AspNetCore;

// The connection middleware UseFastSession installs: pick the certificate (SNI), handshake with FastSslStream over the
// transport pipe, publish the TLS features, hand Kestrel a plaintext pipe, close with close_notify.
internal sealed class FastSessionConnectionMiddleware : IDisposable
{
    private readonly FastSessionServerOptions _options;
    private readonly string[] _alpn;
    private readonly ILogger _logger;
    // One SSL_CTX per certificate: its session cache and ticket keys are the certificate's, so its clients resume against it.
    private readonly ConcurrentDictionary<string, SslContext> _contexts = new(StringComparer.Ordinal);
    private readonly SslContext? _default;

    private readonly KestrelTlsMetrics? _metrics;

    public FastSessionConnectionMiddleware(FastSessionServerOptions options, HttpProtocols protocols, ILoggerFactory? loggers, KestrelTlsMetrics? metrics = null)
    {
        _metrics = metrics;
        _options = options;
        _alpn = protocols switch
        {
            HttpProtocols.Http2 => new[] { "h2" },
            HttpProtocols.Http1AndHttp2 or HttpProtocols.Http1AndHttp2AndHttp3 => new[] { "h2", "http/1.1" },
            _ => new[] { "http/1.1" },
        };
        _logger = loggers?.CreateLogger("FastSession.AspNetCore") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        if (options.ServerCertificate is not null)
        {
            _default = ContextFor(options.ServerCertificate);
        }
    }

    public async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        long start = Stopwatch.GetTimestamp();
        KestrelTlsMetrics? metrics = _metrics is { Enabled: true } m ? m : null;
        metrics?.Start(context.LocalEndPoint);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed);
        timeout.CancelAfter(_options.HandshakeTimeout);
        IDuplexPipe transport = context.Transport;
        string? serverName = null;
        SslContext? ssl = _default;
        var tls = new FastSslStream(new DuplexPipeStream(transport), leaveInnerStreamOpen: true);
        FastSessionTlsFeature feature;
        try
        {
            try
            {
                serverName = await PeekServerNameAsync(transport.Input, timeout.Token).ConfigureAwait(false);
                if (_options.ServerCertificateSelector is { } selector && selector(context, serverName) is { } chosen)
                {
                    ssl = ContextFor(chosen);
                }
                if (ssl is null)
                {
                    throw new AuthenticationException($"No certificate for server name '{serverName}'.");
                }
                await tls.AuthenticateAsServerAsync(ssl, timeout.Token).ConfigureAwait(false);
                feature = new FastSessionTlsFeature(tls, serverName, Stopwatch.GetElapsedTime(start));
                if (feature.ClientCertificate is { } clientCertificate && _options.ClientCertificateValidation is { } validate
                    && !validate(clientCertificate, null, System.Net.Security.SslPolicyErrors.None))
                {
                    // Kestrel runs this callback inside SslStream's handshake, so a refusal is a failed handshake in its metrics;
                    // OpenSSL 3.0 cannot pause a server's verification (SSL_set_retry_verify is client-only), so the refusal comes
                    // right after the TLS handshake and is recorded as the same failure.
                    throw new AuthenticationException($"ClientCertificateValidation refused the client certificate {clientCertificate.Subject}.");
                }
                metrics?.Stop(context.LocalEndPoint, start, tls.NegotiatedProtocol, error: null);
            }
            catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or InvalidOperationException)
            {
                metrics?.Stop(context.LocalEndPoint, start, TlsVersion.None, e);
                // As Kestrel's HttpsConnectionMiddleware: a failed handshake closes the connection and is logged, not thrown.
                _logger.LogDebug(e, "FastSession TLS handshake failed on {ConnectionId}.", context.ConnectionId);
                return;
            }

            context.Features.Set<IFastSessionFeature>(feature);
            context.Features.Set<ITlsConnectionFeature>(feature);
            context.Features.Set<ITlsApplicationProtocolFeature>(feature);
            context.Features.Set<ITlsHandshakeFeature>(feature);
            context.Features.Set<IFastSessionEarlyDataFeature>(new FastSessionEarlyDataFeature(tls)); // 0-RTT (EarlyData.cs)

            PipeReader reader = PipeReader.Create(tls, new StreamPipeReaderOptions(leaveOpen: true));
            PipeWriter writer = PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true));
            context.Transport = new DuplexPipe(reader, writer);
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                await reader.CompleteAsync().ConfigureAwait(false);
                await writer.CompleteAsync().ConfigureAwait(false);
                context.Transport = transport;
            }
        }
        finally
        {
            // A healthy stream sends close_notify here (bounded), which keeps the server's TLS 1.2 session-id session resumable:
            // OpenSSL drops sessions of unclean closes (S8). A failed handshake is freed without it.
            await tls.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<string?> PeekServerNameAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            ClientHelloReader.Status status = ClientHelloReader.TryGetServerName(buffer, out string? name);
            // Nothing is consumed: OpenSSL reads the same ClientHello next.
            input.AdvanceTo(buffer.Start, status == ClientHelloReader.Status.Done ? buffer.Start : buffer.End);
            if (status == ClientHelloReader.Status.Done || result.IsCompleted || result.IsCanceled || buffer.Length > 16 * 1024 + 5)
            {
                return name;
            }
        }
    }

    private SslContext ContextFor(X509Certificate2 certificate) =>
        _contexts.GetOrAdd(certificate.Thumbprint, static (_, state) =>
            SslContext.CreateServer(state.self._options.ToServerOptions(state.certificate, state.self._alpn)),
            (certificate, self: this));

    public void Dispose()
    {
        foreach (SslContext context in _contexts.Values)
        {
            context.Dispose();
        }
        _contexts.Clear();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
