using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Cli.Bench;

/// <summary>Where a benchmarked connection's bytes travel: a fresh connected stream pair per connection.</summary>
internal abstract class BenchTransport : IDisposable
{
    public abstract string Name { get; }

    /// <summary>The port a session cache keys on (0 for memory).</summary>
    public abstract int Port { get; }

    public abstract Task<(Stream Client, Stream Server)> ConnectAsync(CancellationToken cancellationToken);

    public virtual void Dispose()
    {
    }

    public static BenchTransport Create(string name) => name switch
    {
        "memory" => new MemoryTransport(),
        "tcp" => new TcpTransport(),
        _ => throw CliException.Usage($"--transport '{name}' is not memory or tcp."),
    };

    private sealed class MemoryTransport : BenchTransport
    {
        public override string Name => "memory";

        public override int Port => 0;

        public override Task<(Stream Client, Stream Server)> ConnectAsync(CancellationToken cancellationToken)
        {
            (MemoryDuplexStream client, MemoryDuplexStream server) = MemoryDuplexStream.CreatePair();
            return Task.FromResult<(Stream, Stream)>((client, server));
        }
    }

    /// <summary>Loopback TCP: one listener, a new socket pair (connect + accept) per connection.</summary>
    private sealed class TcpTransport : BenchTransport
    {
        private readonly Socket _listener;
        private readonly IPEndPoint _endPoint;

        public TcpTransport()
        {
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(512);
            _endPoint = (IPEndPoint)_listener.LocalEndPoint!;
        }

        public override string Name => "tcp";

        public override int Port => _endPoint.Port;

        public override async Task<(Stream Client, Stream Server)> ConnectAsync(CancellationToken cancellationToken)
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                ValueTask<Socket> accept = _listener.AcceptAsync(cancellationToken);
                await client.ConnectAsync(_endPoint, cancellationToken).ConfigureAwait(false);
                Socket server = await accept.ConfigureAwait(false);
                server.NoDelay = true;
                return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        public override void Dispose() => _listener.Dispose();
    }
}
