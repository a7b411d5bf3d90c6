namespace FastSession;

/// <summary>What a connection's engine call ended with.</summary>
public enum SslStatus
{
    /// <summary>The operation finished: the handshake is complete, or data was read or written.</summary>
    Completed,
    /// <summary>OpenSSL needs more ciphertext from the peer (<c>SSL_ERROR_WANT_READ</c>); send the output first.</summary>
    NeedsInput,
    /// <summary>The peer closed the connection cleanly (close_notify, <c>SSL_ERROR_ZERO_RETURN</c>). A read may still carry
    /// <see cref="SslIoResult.PlaintextBytes"/>: the data that arrived before the close_notify.</summary>
    Closed,
    /// <summary>A fatal error (<c>SSL_ERROR_SSL</c> / <c>SSL_ERROR_SYSCALL</c>); send the output (an alert), then stop.
    /// The connection is faulted: further I/O throws <see cref="System.InvalidOperationException"/>.</summary>
    Failed,
}

/// <summary>
/// The result of one engine call on <see cref="SslConnection"/>: one native transition fed the input,
/// ran OpenSSL and drained its output (the shim's <c>fs_io_result</c>).
/// </summary>
public readonly struct SslIoResult
{
    internal SslIoResult(SslStatus status, int bytesWritten, int pendingOutput, int plaintextBytes, int newSessions, ulong errorCode, string? error)
    {
        Status = status;
        BytesWritten = bytesWritten;
        PendingOutput = pendingOutput;
        PlaintextBytes = plaintextBytes;
        NewSessions = newSessions;
        OpenSslError = errorCode;
        Error = error;
    }

    /// <summary>How the call ended.</summary>
    public SslStatus Status { get; }

    /// <summary>Ciphertext bytes written to the output buffer: send them to the peer.</summary>
    public int BytesWritten { get; }

    /// <summary>Ciphertext that did not fit the output buffer; get it with <see cref="SslConnection.DrainOutput"/>.</summary>
    public int PendingOutput { get; }

    /// <summary>Read: plaintext bytes decrypted into the caller's buffer. Write: plaintext bytes accepted.</summary>
    public int PlaintextBytes { get; }

    /// <summary>Sessions established during this call (delivered to <see cref="SslContext.SessionEstablished"/> or waiting on the connection).</summary>
    public int NewSessions { get; }

    /// <summary>The OpenSSL error code of a failed call (<c>ERR_peek_last_error</c>), else 0.</summary>
    public ulong OpenSslError { get; }

    /// <summary>OpenSSL's reason for a failed call, else null.</summary>
    public string? Error { get; }

    /// <summary>Whether the handshake (or operation) completed.</summary>
    public bool IsCompleted => Status == SslStatus.Completed;
}
