using System;

namespace FastSession;

/// <summary>
/// Joins a client and a server <see cref="SslConnection"/> in one process with two reusable buffers: runs
/// handshakes, moves application data and shutdowns between them without sockets. The in-memory transport
/// of <c>fastsession demo</c>, the benchmarks and the tests. Allocates only when constructed.
/// </summary>
public sealed class SslMemoryPipe
{
    // One TLS flight with an ECDSA certificate is a few KB; 64 KB holds any flight FastSession produces.
    private const int DefaultBufferSize = 64 * 1024;
    private const int MaxFlights = 32;

    private readonly byte[] _toServer;
    private readonly byte[] _toClient;
    private readonly byte[] _plaintext;

    /// <summary>Creates the pipe's buffers.</summary>
    public SslMemoryPipe(int bufferSize = DefaultBufferSize)
    {
        if (bufferSize < 16 * 1024 + 512)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, "The buffer must hold one full TLS record (16.5 KB).");
        }
        _toServer = new byte[bufferSize];
        _toClient = new byte[bufferSize];
        _plaintext = new byte[bufferSize];
    }

    /// <summary>
    /// Runs the handshake to completion on both sides, then lets the client read what the server sent after
    /// it (TLS 1.3 tickets), so every session is established when this returns.
    /// </summary>
    /// <exception cref="SslHandshakeException">Either side failed.</exception>
    public void Handshake(SslConnection client, SslConnection server)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(server);
        int toServer = Check(client.Handshake(default, _toServer), client);
        int toClient = 0;
        bool clientDone = false, serverDone = false;
        for (int flight = 0; flight < MaxFlights; flight++)
        {
            if (!serverDone || toServer > 0)
            {
                SslIoResult r = serverDone
                    ? server.Read(_toServer.AsSpan(0, toServer), _plaintext, _toClient)
                    : server.Handshake(_toServer.AsSpan(0, toServer), _toClient);
                toClient = Check(r, server);
                serverDone |= !serverDone && r.IsCompleted;
                toServer = 0;
            }
            if (toClient > 0 || !clientDone)
            {
                SslIoResult r = clientDone
                    ? client.Read(_toClient.AsSpan(0, toClient), _plaintext, _toServer)
                    : client.Handshake(_toClient.AsSpan(0, toClient), _toServer);
                toServer = Check(r, client);
                clientDone |= !clientDone && r.IsCompleted;
                toClient = 0;
            }
            if (clientDone && serverDone && toServer == 0 && toClient == 0)
            {
                // Records that arrived together with the server's Finished (TLS 1.3 tickets) wait in
                // the client's read BIO until a read processes them.
                Check(client.Read(default, _plaintext, _toServer), client);
                return;
            }
        }
        throw new SslHandshakeException($"The handshake did not finish within {MaxFlights} flights.");
    }

    /// <summary>Encrypts <paramref name="data"/> on <paramref name="from"/> and decrypts it on <paramref name="to"/>
    /// into <paramref name="received"/>. Returns the bytes received.</summary>
    /// <exception cref="InvalidOperationException">A side's handshake is not complete (the write made no progress), or a
    /// side is in use on another thread or failed earlier.</exception>
    /// <exception cref="ObjectDisposedException">A side was disposed.</exception>
    /// <exception cref="SslHandshakeException">A side failed.</exception>
    public int Send(SslConnection from, SslConnection to, ReadOnlySpan<byte> data, Span<byte> received)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        byte[] wire = from.IsServer ? _toClient : _toServer;
        byte[] reply = from.IsServer ? _toServer : _toClient;
        int total = 0;
        while (!data.IsEmpty)
        {
            int chunk = Math.Min(data.Length, 16 * 1024);
            SslIoResult w = from.Write(data[..chunk], wire);
            int produced = Check(w, from);
            if (w.PlaintextBytes == 0)
            {
                // No progress: a handshake is not complete (never run, or reset on another thread). Retrying would loop forever.
                throw new InvalidOperationException($"SslMemoryPipe.Send needs both handshakes complete: call Handshake first ({from} wrote nothing: {w.Status}).");
            }
            data = data[w.PlaintextBytes..];
            SslIoResult r = to.Read(wire.AsSpan(0, produced), received[total..], reply);
            Check(r, to);
            total += r.PlaintextBytes;
            // A record may decrypt in more than one read when the caller's buffer is small.
            while (r.IsCompleted && total < received.Length)
            {
                r = to.Read(default, received[total..], reply);
                Check(r, to);
                total += r.PlaintextBytes;
                if (r.PlaintextBytes == 0)
                {
                    break;
                }
            }
        }
        return total;
    }

    /// <summary>Shuts both sides down cleanly (close_notify both ways), which keeps their sessions resumable (S8).</summary>
    public void Shutdown(SslConnection client, SslConnection server)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(server);
        int toServer = Check(client.Shutdown(_toServer), client);
        SslIoResult r = server.Read(_toServer.AsSpan(0, toServer), _plaintext, _toClient);
        if (r.Status != SslStatus.Closed)
        {
            Check(r, server);
        }
        int toClient = Check(server.Shutdown(_toClient), server);
        r = client.Read(_toClient.AsSpan(0, toClient), _plaintext, _toServer);
        if (r.Status != SslStatus.Closed)
        {
            Check(r, client);
        }
    }

    private static int Check(SslIoResult result, SslConnection side)
    {
        if (result.Status == SslStatus.Failed)
        {
            throw new SslHandshakeException($"{(side.IsServer ? "Server" : "Client")}: {result.Error}", result.OpenSslError);
        }
        if (result.PendingOutput > 0)
        {
            throw new InvalidOperationException($"A TLS flight of more than the pipe's buffer was produced ({result.OutputBytes + result.PendingOutput} bytes); use a larger SslMemoryPipe buffer.");
        }
        return result.OutputBytes;
    }
}
