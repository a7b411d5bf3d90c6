using System;
using System.Threading.Tasks;

namespace FastSession.Samples;

/// <summary>
/// <c>dotnet run --project samples/HttpClientSample -- https://localhost:4433/ [requests] [--trust cert.pem] [--new-connections] [--plain]</c>:
/// GETs the URL through <see cref="FastSession.Http.FastSessionHttpHandler"/> and prints how many TLS connections resumed.
/// Against <c>openssl s_server -www</c> the page says "Reused" or "New" for each connection, which is counted too.
/// </summary>
public static class HttpClientSample
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            Console.Error.WriteLine("usage: HttpClientSample <https-url> [requests] [--trust cert.pem] [--new-connections] [--plain]");
            return 2;
        }
        try
        {
            HttpClientRun.Result result = await HttpClientRun.RunAsync(HttpClientRun.Options.Parse(args), Console.Out);
            Console.WriteLine($"requests={result.Requests} tls_connections={result.Connections} client_resumed={result.Resumed} " +
                $"server_reported_reused={result.ServerReportedReused} seconds={result.Elapsed.TotalSeconds:0.000} requests_per_second={result.Requests / result.Elapsed.TotalSeconds:0}");
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        catch (Exception e) when (e is System.Net.Http.HttpRequestException or System.IO.IOException or System.Security.Authentication.AuthenticationException)
        {
            Console.Error.WriteLine(e.InnerException?.Message ?? e.Message);
            return 1;
        }
    }
}
