using System;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using FastSession.Http;

namespace FastSession.Samples;

/// <summary>The sample's work, callable from tests and the benchmark.</summary>
public static class HttpClientRun
{
    public sealed record Options(Uri Url, int Requests, string? TrustFile, bool NewConnections, TlsVersion? Version = null, bool Plain = false)
    {
        public static Options Parse(string[] args)
        {
            if (!Uri.TryCreate(args[0], UriKind.Absolute, out Uri? url) || url.Scheme is not ("https" or "http"))
            {
                throw new ArgumentException($"'{args[0]}' is not an http(s) URL.");
            }
            int requests = 10;
            string? trust = null;
            bool fresh = false, plain = false;
            for (int i = 1; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--trust" when i + 1 < args.Length: trust = args[++i]; break;
                    case "--new-connections": fresh = true; break;
                    case "--plain": plain = true; break;
                    default:
                        if (!int.TryParse(args[i], out requests) || requests < 1)
                        {
                            throw new ArgumentException($"Unknown argument '{args[i]}'.");
                        }
                        break;
                }
            }
            return new Options(url, requests, trust, fresh, Plain: plain);
        }
    }

    public sealed record Result(int Requests, long Connections, long Resumed, int ServerReportedReused, TimeSpan Elapsed);

    public static async Task<Result> RunAsync(Options options, TextWriter log)
    {
        var settings = new FastSessionClientSettings();
        if (options.TrustFile is not null)
        {
            settings.TrustedCertificates = new X509Certificate2Collection();
            settings.TrustedCertificates.ImportFromPemFile(options.TrustFile);
        }
        if (options.Version is { } version)
        {
            settings.MinVersion = settings.MaxVersion = version;
        }
        using var handler = new FastSessionHttpHandler(settings);
        // --plain: the same requests through SocketsHttpHandler's own SslStream, for comparison.
        using HttpMessageHandler plain = Plain(options);
        using var client = new HttpClient(options.Plain ? plain : handler, disposeHandler: false);
        int reused = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < options.Requests; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, options.Url);
            request.Headers.ConnectionClose = options.NewConnections;
            using HttpResponseMessage response = await client.SendAsync(request);
            string body = await response.Content.ReadAsStringAsync();
            if (body.Contains("Reused, TLSv", StringComparison.Ordinal))
            {
                reused++;
            }
            if (options.Requests <= 20)
            {
                log.WriteLine($"{i + 1}: {(int)response.StatusCode} {body.Length} bytes");
            }
        }
        clock.Stop();
        FastSessionConnectorStatistics stats = options.Plain ? default : handler.Statistics;
        return new Result(options.Requests, stats.Connections, stats.Resumed, reused, clock.Elapsed);
    }

    private static SocketsHttpHandler Plain(Options options)
    {
        var handler = new SocketsHttpHandler();
        if (options.TrustFile is not null)
        {
            var trust = new X509Certificate2Collection();
            trust.ImportFromPemFile(options.TrustFile);
            handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(trust);
        }
        return handler;
    }
}
