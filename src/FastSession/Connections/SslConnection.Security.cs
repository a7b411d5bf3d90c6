using System;
using System.Net.Security;
using System.Text;
using FastSession.Interop;

namespace FastSession;

// Peer verification as the engine sees it, and the server side of the session API (SSL_get_servername,
// SSL_set_num_tickets, SSL_new_session_ticket, shutdown fed with the peer's bytes). Kept apart from
// SslConnection.cs, which owns the engine; the engine calls ResumePausedVerification and ExplainFailure.
public sealed partial class SslConnection
{
    /// <summary>
    /// What verification of the peer's certificate found, as .NET's <see cref="SslPolicyErrors"/> (the classes of
    /// errors the shim's verify callback recorded); <see cref="SslPolicyErrors.None"/> also when nothing was verified
    /// (see <see cref="SslContext.VerifiesPeer"/>). Stays readable after a failed handshake.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another call on this connection is running.</exception>
    public SslPolicyErrors CertificateErrors
    {
        get
        {
            ReadVerifyStatus(out _, out _, out int policy);
            return (SslPolicyErrors)policy;
        }
    }

    /// <summary>OpenSSL's verification result (<c>SSL_get_verify_result</c>: <c>X509_V_OK</c> = 0, or an <c>X509_V_ERR_*</c>).</summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another call on this connection is running.</exception>
    public long CertificateVerifyResult
    {
        get
        {
            using ReaderScope _ = Reader();
            return VerifyNative.SslGetVerifyResult(this);
        }
    }

    /// <summary>
    /// The SNI host name this connection received (a server) or sends (a client): <c>SSL_get_servername</c>. Null when
    /// none. On a server it is known once the ClientHello was processed.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another call on this connection is running.</exception>
    public string? ReceivedServerName
    {
        get
        {
            Span<byte> buffer = stackalloc byte[256];
            int length;
            using (Reader())
            {
                length = ServerNative.SslGetServername(this, buffer, buffer.Length);
            }
            return length > 0 ? Encoding.UTF8.GetString(buffer[..Math.Min(length, buffer.Length)]) : null;
        }
    }

    /// <summary>
    /// TLS 1.3 tickets this server connection sends after its handshake (<c>SSL_get_num_tickets</c> /
    /// <c>SSL_set_num_tickets</c>); starts at the context's <see cref="SslServerOptions.TicketCount"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative value.</exception>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another call on this connection is running, or OpenSSL refused.</exception>
    public int TicketCount
    {
        get
        {
            using ReaderScope _ = Reader();
            return ServerNative.SslGetNumTickets(this);
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            using ExclusiveScope _ = Exclusive(Access.Exclusive);
            if (ServerNative.SslSetNumTickets(this, value) != ShimConstants.Ok)
            {
                throw new InvalidOperationException(OpenSslError.ReasonOr("SSL_set_num_tickets"));
            }
        }
    }

    /// <summary>
    /// Sends one more TLS 1.3 session ticket now (<c>SSL_new_session_ticket</c>, then <c>SSL_do_handshake</c> writes it
    /// into <paramref name="output"/>). Server connections after a TLS 1.3 handshake only; the ticket is delivered to
    /// <see cref="SslContext.SessionEstablished"/> on both sides like the others.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not a server, the handshake is not complete, another call is running,
    /// or the connection failed earlier.</exception>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public SslIoResult SendSessionTicket(Span<byte> output)
    {
        if (!IsServer)
        {
            throw new InvalidOperationException("SendSessionTicket is for server connections: tickets are sent by servers (SSL_new_session_ticket).");
        }
        if (!IsHandshakeComplete)
        {
            throw new InvalidOperationException("SendSessionTicket needs a completed handshake.");
        }
        QueueSessionTicket();
        return Handshake(default, output); // SSL_do_handshake writes the queued ticket
    }

    /// <summary>
    /// Feeds the peer's bytes (<paramref name="input"/>, e.g. its close_notify) and sends this side's close_notify
    /// (<c>SSL_shutdown</c>). The result is <see cref="SslStatus.Closed"/> when both close_notify alerts were exchanged (<c>SSL_shutdown</c> returned 1),
    /// <see cref="SslStatus.Completed"/> when ours was sent and the peer's not yet seen (0). A clean shutdown keeps
    /// the session resumable (S8).
    /// </summary>
    /// <exception cref="InvalidOperationException">Another call is running, or the connection failed earlier.</exception>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public SslIoResult Shutdown(ReadOnlySpan<byte> input, Span<byte> output) =>
        Run(SslOperation.Shutdown, input, default, default, output);

    // ---- Hooks the engine calls --------------------------------------------------------------------

    /// <summary>
    /// The handshake stopped at SSL_ERROR_WANT_RETRY_VERIFY: the shim's verify callback recorded OpenSSL's verdict
    /// and paused (a client with <see cref="SslClientOptions.ServerCertificateValidation"/>). Runs the callback here,
    /// outside OpenSSL, hands the verdict to the shim and resumes the handshake, appending its output after what the
    /// first step produced. The gate is held by the caller (Run, for Handshake).
    /// </summary>
    internal void ResumePausedVerification(ref FsIoResult result, Span<byte> output)
    {
        int consumed = result.BytesConsumed;
        int produced = result.BytesProduced;
        while (result.SslError == ShimConstants.SslErrorWantRetryVerify && result.Ret <= 0)
        {
            bool accept = RunValidationCallback();
            VerifyNative.SslSetVerifyDecision(this, accept ? 1 : 0);
            Span<byte> rest = Rest(output, produced); // empty: NULL, as the shim expects when there is no room
            ConnectionNative.SslDoHandshake(this, default, 0, rest, rest.Length, out FsIoResult next);
            produced += next.BytesProduced;
            result = next;
        }
        result.BytesConsumed = consumed;
        result.BytesProduced = produced;
    }

    /// <summary>
    /// A handshake started implicitly by <see cref="Read"/> or <see cref="Write"/> paused for
    /// <see cref="SslClientOptions.ServerCertificateValidation"/>: runs the callback and resumes the handshake as
    /// <see cref="Handshake"/> would (<see cref="ResumePausedVerification"/>), then, if the handshake completed, runs the
    /// caller's read (no new input: what was fed is in the read BIO) or write once more, appending its output. Still
    /// waiting for the peer, the result says so (NeedsInput) and the caller repeats the call, as for any implicit
    /// handshake. The gate is held by the caller (Run).
    /// </summary>
    internal void ResumeImplicitHandshake(SslOperation operation, ref FsIoResult result, ReadOnlySpan<byte> plaintextIn,
        Span<byte> plaintextOut, Span<byte> output)
    {
        int consumed = result.BytesConsumed;
        int newSessions = result.NewSessions;
        ResumePausedVerification(ref result, output);
        if (result.Ret <= 0)
        {
            result.BytesConsumed = operation == SslOperation.Read ? consumed : 0; // a write consumed no plaintext yet
            result.NewSessions += newSessions;
            return;
        }
        int produced = result.BytesProduced;
        int done = result.HandshakeDone;
        newSessions += result.NewSessions;
        Span<byte> rest = Rest(output, produced);
        FsIoResult next;
        if (operation == SslOperation.Read)
        {
            ConnectionNative.SslRead(this, default, 0, plaintextOut, plaintextOut.Length, rest, rest.Length, out next);
            next.BytesConsumed = consumed;
        }
        else
        {
            ConnectionNative.SslWrite(this, plaintextIn, plaintextIn.Length, rest, rest.Length, out next);
        }
        next.BytesProduced += produced;
        next.NewSessions += newSessions;
        next.HandshakeDone |= done;
        result = next;
    }

    // What is left of the output buffer after `produced` bytes (empty when full: the shim then gets NULL, 0).
    private static Span<byte> Rest(Span<byte> output, int produced) =>
        (uint)produced < (uint)output.Length ? output[produced..] : default;

    private string? _validationFailure;

    private bool RunValidationCallback()
    {
        _validationFailure = null;
        SslCertificateValidationCallback? callback = Context.ServerCertificateValidation;
        ReadVerifyStatus(out int error, out int depth, out int policy);
        if (callback is null)
        {
            return error == 0;
        }
        int length = VerifyNative.SslGetVerifyChainLength(this);
        byte[][] chain = new byte[length][];
        for (int i = 0; i < length; i++)
        {
            chain[i] = ChainCertificate(i);
        }
        var validation = new SslCertificateValidation(ServerName, (SslPolicyErrors)policy, error, depth, VerifyErrorText(error), chain);
        try
        {
            bool accepted = callback(this, validation);
            if (!accepted)
            {
                _validationFailure = "the ServerCertificateValidation callback rejected the server's certificate" +
                    (error != 0 ? $" (OpenSSL: {VerifyErrorText(error)})" : " (OpenSSL found no error)");
            }
            return accepted;
        }
        catch (Exception e)
        {
            _validationFailure = $"the ServerCertificateValidation callback threw {e.GetType().Name}: {e.Message}";
            return false;
        }
        finally
        {
            validation.Release();
        }
    }

    /// <summary>A failed handshake whose verification recorded an error gets a reason a user can act on.</summary>
    internal SslIoResult ExplainFailure(SslIoResult result)
    {
        if (result.Status != SslStatus.Failed)
        {
            return result;
        }
        int ran = VerifyNative.SslGetVerifyStatus(this, out _, out _, out _);
        string? detail = _validationFailure;
        _validationFailure = null;
        if (detail is null && ran != 0)
        {
            detail = DescribeVerifyError();
        }
        if (detail is null)
        {
            return result;
        }
        _fault = $"TLS handshake failed: {(IsServer ? "client" : "server")} certificate verification failed: {detail}";
        return new SslIoResult(result.Operation, SslStatus.Failed, result.OutputBytes, result.PendingOutput, result.PlaintextBytes, result.NewSessions, result.OpenSslError, _fault);
    }

    private string? DescribeVerifyError()
    {
        ReadVerifyStatus(out int error, out int depth, out int policy);
        if (error == 0)
        {
            return null;
        }
        string names = PeerNames();
        if ((policy & (int)SslPolicyErrors.RemoteCertificateNameMismatch) != 0 && (policy & (int)SslPolicyErrors.RemoteCertificateChainErrors) == 0)
        {
            return $"name mismatch: expected '{ServerName}', the certificate is for {names} ({VerifyErrorText(error)})";
        }
        string kind = error switch
        {
            18 or 19 or 20 or 21 or 2 => "untrusted root",          // self-signed, self-signed in chain, no local issuer, unable to verify leaf, no issuer
            10 => "expired",                                         // X509_V_ERR_CERT_HAS_EXPIRED
            9 => "not yet valid",                                    // X509_V_ERR_CERT_NOT_YET_VALID
            23 => "revoked",                                         // X509_V_ERR_CERT_REVOKED
            _ => "chain error",
        };
        string alsoName = (policy & (int)SslPolicyErrors.RemoteCertificateNameMismatch) != 0 ? $"; also a name mismatch (expected '{ServerName}')" : "";
        return $"{kind}: {VerifyErrorText(error)} at depth {depth} (certificate for {names}){alsoName}";
    }

    private void ReadVerifyStatus(out int error, out int depth, out int policy)
    {
        using (Reader())
        {
            VerifyNative.SslGetVerifyStatus(this, out error, out depth, out policy);
        }
    }

    private byte[] ChainCertificate(int index)
    {
        int length = VerifyNative.SslGetVerifyChainCertificate(this, index, default, 0, out int needed);
        if (length != ShimConstants.ErrBufferTooSmall)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("i2d_X509"));
        }
        byte[] der = new byte[needed];
        length = VerifyNative.SslGetVerifyChainCertificate(this, index, der, der.Length, out _);
        if (length != der.Length)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("i2d_X509"));
        }
        return der;
    }

    private string PeerNames()
    {
        Span<byte> buffer = stackalloc byte[512];
        int length = VerifyNative.SslGetVerifyPeerNames(this, buffer, buffer.Length);
        return length > 0 ? Encoding.UTF8.GetString(buffer[..Math.Min(length, buffer.Length)]) : "(no certificate)";
    }

    private static string VerifyErrorText(int error)
    {
        Span<byte> buffer = stackalloc byte[256];
        int length = VerifyNative.X509VerifyCertErrorString(error, buffer, buffer.Length);
        return Encoding.ASCII.GetString(buffer[..Math.Clamp(length, 0, buffer.Length - 1)]);
    }
}
