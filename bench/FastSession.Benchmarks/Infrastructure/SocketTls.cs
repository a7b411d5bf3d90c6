using System;
using System.IO;
using System.Net;
using System.Net.Sockets;

namespace FastSession.Benchmarks.Infrastructure;

/// <summary>Reusable ciphertext and plaintext buffers of one side of a socket connection.</summary>
internal sealed class SocketTlsBuffers
{
    public readonly byte[] Input = new byte[32 * 1024];
    public readonly byte[] Output = new byte[32 * 1024];
    public readonly byte[] Plaintext = new byte[16 * 1024];
}

/// <summary>
/// Drives an <see cref="SslConnection"/> over a blocking <see cref="Socket"/> directly: one engine call per flight,
/// no stream, no task. The leanest way to run FastSession over TCP (the benchmark's counterpart of FastSslStream).
/// </summary>
internal static class SocketTls
{
    private static readonly LingerOption s_abortiveClose = new(true, 0);

    public static Socket Connect(EndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(512);
        return listener;
    }

    /// <summary>
    /// The server closes last, after both close_notifys, with a reset: no TIME_WAIT is left on either side, so a
    /// benchmark's many thousand connections never run out of ephemeral ports.
    /// </summary>
    public static void CloseAbortively(Socket socket)
    {
        try
        {
            socket.LingerState = s_abortiveClose;
        }
        catch (SocketException)
        {
            // Already reset by the peer: nothing is left to linger.
        }
        socket.Dispose();
    }

    public static void Handshake(SslConnection connection, Socket socket, SocketTlsBuffers buffers)
    {
        int received = 0;
        while (true)
        {
            SslIoResult result = connection.Handshake(buffers.Input.AsSpan(0, received), buffers.Output);
            Send(connection, socket, buffers, result);
            switch (result.Status)
            {
                case SslStatus.Completed:
                    return;
                case SslStatus.NeedsInput:
                    received = Receive(socket, buffers.Input);
                    break;
                default:
                    throw new IOException($"TLS handshake failed ({(connection.IsServer ? "server" : "client")}): {result.Error}");
            }
        }
    }

    /// <summary>Reads (discarding application data, processing tickets) until the peer's close_notify.</summary>
    public static void ReadUntilClosed(SslConnection connection, Socket socket, SocketTlsBuffers buffers)
    {
        int received = 0; // first process what the handshake's last input left in the engine
        while (true)
        {
            SslIoResult result = connection.Read(buffers.Input.AsSpan(0, received), buffers.Plaintext, buffers.Output);
            Send(connection, socket, buffers, result);
            switch (result.Status)
            {
                case SslStatus.Closed:
                    return;
                case SslStatus.Completed:
                    received = 0;
                    break;
                case SslStatus.NeedsInput:
                    received = Receive(socket, buffers.Input);
                    break;
                default:
                    throw new IOException($"TLS read failed ({(connection.IsServer ? "server" : "client")}): {result.Error}");
            }
        }
    }

    public static void Shutdown(SslConnection connection, Socket socket, SocketTlsBuffers buffers)
    {
        SslIoResult result = connection.Shutdown(buffers.Output);
        Send(connection, socket, buffers, result);
        if (result.Status == SslStatus.Failed)
        {
            throw new IOException($"TLS shutdown failed: {result.Error}");
        }
    }

    private static void Send(SslConnection connection, Socket socket, SocketTlsBuffers buffers, in SslIoResult result)
    {
        int count = result.BytesWritten;
        int pending = result.PendingOutput;
        while (true)
        {
            if (count > 0)
            {
                SendAll(socket, buffers.Output.AsSpan(0, count));
            }
            if (pending <= 0)
            {
                return;
            }
            count = connection.DrainOutput(buffers.Output);
            pending = count > 0 ? connection.PendingOutput : 0;
        }
    }

    private static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            data = data[socket.Send(data)..];
        }
    }

    private static int Receive(Socket socket, byte[] buffer)
    {
        int count = socket.Receive(buffer);
        if (count == 0)
        {
            throw new IOException("The peer closed the TCP connection in the middle of the TLS exchange.");
        }
        return count;
    }
}
