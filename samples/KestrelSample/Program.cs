using System;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using FastSession.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FastSession.Samples;

/// <summary>
/// <c>dotnet run --project samples/KestrelSample -- [--port 5443] [--cert cert.pem --key key.pem] [--https]</c>: Kestrel on
/// 127.0.0.1 with <c>ListenOptions.UseFastSession</c> (HTTP/1.1 and HTTP/2 by ALPN), or Kestrel's own <c>UseHttps</c> with
/// <c>--https</c> for comparison. Every response says how the connection was made, e.g.
/// <c>HTTP/2 TLSv1.3 reused=True outcome=Resumed alpn=h2</c>. Prints <c>listening on 127.0.0.1:PORT</c> once it accepts.
/// </summary>
public static class KestrelSample
{
    public static async Task<int> Main(string[] args)
    {
        int port = 5443;
        string? cert = null, key = null;
        bool https = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--port" when i + 1 < args.Length && int.TryParse(args[i + 1], out port): i++; break;
                case "--cert" when i + 1 < args.Length: cert = args[++i]; break;
                case "--key" when i + 1 < args.Length: key = args[++i]; break;
                case "--https": https = true; break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: KestrelSample [--port N] [--cert cert.pem --key key.pem] [--https]");
                    return 2;
            }
        }
        X509Certificate2 certificate = cert is null ? Ephemeral() : X509Certificate2.CreateFromPemFile(cert, key);
        WebApplication app = Build(port, certificate, https);
        await app.StartAsync();
        Console.WriteLine($"listening on 127.0.0.1:{port} ({(https ? "UseHttps" : "UseFastSession")})");
        await app.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>The app; <paramref name="configure"/> adds to the FastSession options (e.g. client certificates) after the certificate.</summary>
    public static WebApplication Build(int port, X509Certificate2 certificate, bool useHttps = false, Action<FastSessionServerOptions>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            if (useHttps)
            {
                listen.UseHttps(certificate);
            }
            else
            {
                listen.UseFastSession(options =>
                {
                    options.ServerCertificate = certificate;
                    configure?.Invoke(options);
                });
            }
        }));
        WebApplication app = builder.Build();
        app.Run(context => context.Response.WriteAsync(Describe(context)));
        return app;
    }

    public static string Describe(HttpContext context)
    {
        IFastSessionFeature? tls = context.Features.Get<IFastSessionFeature>();
        string client = context.Connection.ClientCertificate is { } c ? " client=" + c.Subject : "";
        return tls is null
            ? $"{context.Request.Protocol} (not FastSession)\n"
            : $"{context.Request.Protocol} TLSv{(tls.Protocol == TlsVersion.Tls13 ? "1.3" : "1.2")} reused={tls.SessionReused} outcome={tls.ResumptionOutcome} alpn={tls.ApplicationProtocol} sni={tls.ServerName} cipher={tls.CipherName}{client}\n";
    }

    public static X509Certificate2 Ephemeral()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(7));
    }
}
