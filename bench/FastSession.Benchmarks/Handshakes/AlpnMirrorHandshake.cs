using System.IO;
using System.Net.Security;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using FastSession.Http;

namespace FastSession.Benchmarks.Handshakes;

/// <summary>
/// The in-memory "ALPN mirror" handshake that <c>FastSessionHttpStream</c> pays on every new connection that may carry HTTP/2
/// (SocketsHttpHandler reads the non-virtual <see cref="SslStream.NegotiatedApplicationProtocol"/>, so the SslStream base must
/// really be authenticated). It is the whole difference between YARP/HttpClient at HTTP/2 with FastSession and with their own
/// client (issue 15); its cost per connection is what this measures. No C reference: the mirror exists only because of .NET.
/// </summary>
[MemoryDiagnoser]
public class AlpnMirrorHandshake
{
    [Params("h2", null)]
    public string? Protocol { get; set; }

    [Benchmark]
    public async Task MirrorHandshake()
    {
        (Stream client, Stream server) = AlpnMirror.CreatePair();
        await using var ssl = new SslStream(client);
        await AlpnMirror.AuthenticateAsync(ssl, server, Protocol, CancellationToken.None).ConfigureAwait(false);
    }
}
