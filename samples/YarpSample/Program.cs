using System;
using System.Collections.Generic;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using FastSession.Http;
using FastSession.Yarp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace FastSession.Samples;

/// <summary>
/// <c>dotnet run --project samples/YarpSample -- --backend https://localhost:4433/ [--port 8080] [--trust cert.pem] [--default-client] [--http 1.1|2.0]</c>:
/// a YARP proxy on http://127.0.0.1:PORT whose one cluster forwards to the backend through FastSession (or YARP's own client with
/// <c>--default-client</c>); <c>--http</c> sets the cluster's request version (YARP's default: 2.0, or lower). <c>GET /fastsession</c> answers the backend connection counts: <c>connections=N resumed=M failed=F</c>.
/// </summary>
public static class YarpSample
{
    public static async Task<int> Main(string[] args)
    {
        int port = 8080;
        string? backend = null, trust = null, http = null;
        bool defaultClient = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--port" when i + 1 < args.Length && int.TryParse(args[i + 1], out port): i++; break;
                case "--backend" when i + 1 < args.Length: backend = args[++i]; break;
                case "--trust" when i + 1 < args.Length: trust = args[++i]; break;
                case "--default-client": defaultClient = true; break;
                case "--http" when i + 1 < args.Length: http = args[++i]; break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: YarpSample --backend URL [--port N] [--trust cert.pem] [--default-client] [--http 1.1|2.0]");
                    return 2;
            }
        }
        if (backend is null)
        {
            Console.Error.WriteLine("usage: YarpSample --backend URL [--port N] [--trust cert.pem] [--default-client] [--http 1.1|2.0]");
            return 2;
        }
        WebApplication app = Build(port, backend, trust, defaultClient, http);
        await app.StartAsync();
        Console.WriteLine($"listening on 127.0.0.1:{port} -> {backend} ({(defaultClient ? "YARP's client" : "FastSession")})");
        await app.WaitForShutdownAsync();
        return 0;
    }

    public static WebApplication Build(int port, string backend, string? trustFile, bool defaultClient = false, string? httpVersion = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var cluster = new ClusterConfig
        {
            ClusterId = "backend",
            Destinations = new Dictionary<string, DestinationConfig> { ["one"] = new() { Address = backend } },
            // Each forwarded request on a new backend connection, so every request shows whether its connection resumed.
            HttpClient = new HttpClientConfig { DangerousAcceptAnyServerCertificate = defaultClient && trustFile is not null },
            HttpRequest = httpVersion is null ? null : new ForwarderRequestConfig { Version = Version.Parse(httpVersion) },
        };
        var route = new RouteConfig { RouteId = "all", ClusterId = "backend", Match = new RouteMatch { Path = "{**rest}" } };
        IReverseProxyBuilder proxy = builder.Services.AddReverseProxy().LoadFromMemory(new[] { route }, new[] { cluster });
        if (!defaultClient)
        {
            proxy.UseFastSession(settings =>
            {
                if (trustFile is not null)
                {
                    settings.TrustedCertificates = new X509Certificate2Collection();
                    settings.TrustedCertificates.ImportFromPemFile(trustFile);
                }
            });
        }
        WebApplication app = builder.Build();
        app.MapGet("/fastsession", (HttpContext context) =>
        {
            FastSessionForwarderHttpClientFactory? factory = context.RequestServices.GetService<FastSessionForwarderHttpClientFactory>();
            FastSessionConnectorStatistics s = factory?.Statistics ?? default;
            return $"connections={s.Connections} resumed={s.Resumed} failed={s.Failed}\n";
        });
        app.MapReverseProxy();
        return app;
    }
}
