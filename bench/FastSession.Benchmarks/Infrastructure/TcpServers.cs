using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Benchmarks.Infrastructure;

/// <summary>
/// The FastSession server of <see cref="SocketTls"/>: one thread, one <see cref="SslConnection"/> reset per accepted
/// socket. Per connection: handshake (TLS 1.3 tickets included), close_notify, wait for the client's, reset-close.
/// </summary>
internal sealed class SocketTlsServer : IDisposable
{
    private readonly Socket _listener;
    private readonly SslConnection _connection;
    private readonly SocketTlsBuffers _buffers = new();
    private readonly Thread _thread;
    private volatile bool _stopping;

    public SocketTlsServer(SslContext context)
    {
        _listener = SocketTls.Listen();
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _connection = context.CreateConnection();
        _thread = new Thread(Run) { IsBackground = true, Name = "FastSession socket server" };
        _thread.Start();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The last connection's failure (the client only sees a closed socket).</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Whether the last connection the server finished was a resumed one.</summary>
    public bool LastSessionReused { get; private set; }

    private void Run()
    {
        while (!_stopping)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            if (_stopping)
            {
                socket.Dispose();
                return;
            }
            try
            {
                socket.NoDelay = true;
                _connection.Reset();
                SocketTls.Handshake(_connection, socket, _buffers);
                SocketTls.Shutdown(_connection, socket, _buffers);
                SocketTls.ReadUntilClosed(_connection, socket, _buffers);
                LastSessionReused = _connection.SessionReused;
            }
            catch (Exception e)
            {
                LastError = e;
            }
            finally
            {
                SocketTls.CloseAbortively(socket);
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        // A blocked Accept is woken by one last connection, then the listener goes.
        try
        {
            using Socket wake = SocketTls.Connect(EndPoint);
        }
        catch (SocketException)
        {
        }
        _listener.Dispose();
        _thread.Join(TimeSpan.FromSeconds(10));
        _connection.Dispose();
    }
}

/// <summary>An async accept loop serving one connection at a time with <paramref name="serve"/> (SslStream, FastSslStream).</summary>
internal sealed class AsyncTcpServer : IDisposable
{
    private readonly Socket _listener;
    private readonly Func<Socket, Task> _serve;
    private readonly Task _loop;
    private volatile bool _stopping;

    public AsyncTcpServer(Func<Socket, Task> serve)
    {
        _serve = serve;
        _listener = SocketTls.Listen();
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _loop = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint EndPoint { get; }

    public Exception? LastError { get; private set; }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            try
            {
                socket.NoDelay = true;
                await _serve(socket).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                LastError = e;
            }
            finally
            {
                SocketTls.CloseAbortively(socket);
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _listener.Dispose();
        _loop.Wait(TimeSpan.FromSeconds(10));
    }
}
