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
    /// <summary>A server handshake paused for its session store (<see cref="SslContext.UseServerSessionStore"/>,
    /// <c>SSL_ERROR_WANT_CLIENT_HELLO_CB</c>): read <see cref="SslConnection.TryGetSessionLookup"/>, answer with
    /// <see cref="SslConnection.ProvideSession"/>, then call <see cref="SslConnection.Handshake"/> again. <see cref="FastSslStream"/> does this itself.</summary>
    NeedsSessionLookup,
}

/// <summary>Which <see cref="SslConnection"/> engine call produced an <see cref="SslIoResult"/>.</summary>
public enum SslOperation
{
    /// <summary><see cref="SslConnection.Handshake"/> (<c>SSL_do_handshake</c>).</summary>
    Handshake,
    /// <summary><see cref="SslConnection.Read"/> (<c>SSL_read_ex</c>).</summary>
    Read,
    /// <summary><see cref="SslConnection.Write"/> (<c>SSL_write_ex</c>).</summary>
    Write,
    /// <summary><see cref="SslConnection.Shutdown(System.Span{byte})"/> (<c>SSL_shutdown</c>).</summary>
    Shutdown,
}

/// <summary>
/// The result of one engine call on <see cref="SslConnection"/>: one native transition fed the input,
/// ran OpenSSL and drained its output (the shim's <c>fs_io_result</c>).
/// </summary>
public readonly struct SslIoResult
{
    internal SslIoResult(SslOperation operation, SslStatus status, int outputBytes, int pendingOutput, int plaintextBytes, int newSessions, ulong errorCode, string? error)
    {
        Operation = operation;
        Status = status;
        OutputBytes = outputBytes;
        PendingOutput = pendingOutput;
        PlaintextBytes = plaintextBytes;
        NewSessions = newSessions;
        OpenSslError = errorCode;
        Error = error;
    }

    /// <summary>Which engine call this is the result of.</summary>
    public SslOperation Operation { get; }

    /// <summary>How the call ended.</summary>
    public SslStatus Status { get; }

    /// <summary>Ciphertext bytes this call wrote into the caller's output buffer: send them to the peer.</summary>
    public int OutputBytes { get; }

    /// <summary>The former name of <see cref="OutputBytes"/> (ciphertext written to the output buffer, not plaintext written).</summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public int BytesWritten => OutputBytes;

    /// <summary>Ciphertext that did not fit the output buffer; get it with <see cref="SslConnection.DrainOutput"/>.</summary>
    public int PendingOutput { get; }

    /// <summary>Read: plaintext bytes decrypted into the caller's buffer. Write: plaintext bytes accepted.</summary>
    public int PlaintextBytes { get; }

    /// <summary>
    /// Sessions established during this call: counted by the shim's new-session callback
    /// (<c>SSL_CTX_sess_set_new_cb</c>) while this call ran, then delivered to <see cref="SslContext.SessionEstablished"/>
    /// or left waiting for <see cref="SslConnection.TryTakeNewSession"/>. Sessions still waiting from earlier calls are not counted.
    /// </summary>
    public int NewSessions { get; }

    /// <summary>The OpenSSL error code of a failed call (<c>ERR_peek_last_error</c>), else 0.</summary>
    public ulong OpenSslError { get; }

    /// <summary>OpenSSL's reason for a failed call, naming the operation, else null.</summary>
    public string? Error { get; }

    /// <summary><see cref="Status"/> is <see cref="SslStatus.Completed"/>: the operation finished (handshake done, data read or written, close_notify sent).</summary>
    public bool IsCompleted => Status == SslStatus.Completed;

    /// <summary>
    /// The exception a caller that cannot go on should throw for a <see cref="SslStatus.Failed"/> result: one mapping for the
    /// engine and every transport over it. A failed handshake is an <see cref="SslHandshakeException"/>; a failed read, write or
    /// shutdown an <see cref="SslProtocolException"/>; any other status gives null.
    /// </summary>
    public System.Exception? ToException() => Status != SslStatus.Failed ? null
        : Operation == SslOperation.Handshake ? new SslHandshakeException(Error ?? "TLS handshake failed", OpenSslError)
        : new SslProtocolException(Error ?? $"{Describe(Operation)} failed", OpenSslError);

    /// <summary>Throws <see cref="ToException"/> when the call failed.</summary>
    /// <exception cref="SslHandshakeException">The handshake failed.</exception>
    /// <exception cref="SslProtocolException">A read, write or shutdown failed.</exception>
    public void ThrowIfFailed()
    {
        if (Status == SslStatus.Failed)
        {
            throw ToException()!;
        }
    }

    internal static string Describe(SslOperation operation) => operation switch
    {
        SslOperation.Handshake => "TLS handshake",
        SslOperation.Read => "TLS read",
        SslOperation.Write => "TLS write",
        _ => "TLS shutdown",
    };
}
