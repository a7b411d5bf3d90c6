using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using FastSession.Interop;

namespace FastSession;

/// <summary>
/// Receives a session the moment OpenSSL establishes it (every TLS 1.3 ticket, every TLS 1.2 session).
/// The handler owns <paramref name="session"/>: keep it, hand it to a cache, or dispose it.
/// </summary>
public delegate void SessionEstablishedHandler(SslConnection connection, SslSession session);

/// <summary>
/// One OpenSSL <c>SSL_CTX</c>: protocol range, certificate, tickets and the session cache.
/// Thread-safe for creating connections; every session it yields is bound to its <see cref="Id"/>.
/// </summary>
[ShimHandleOwner]
public sealed partial class SslContext : IDisposable
{
    private nint _ctx;
    // SafeHandle-style gate so Dispose cannot free the SSL_CTX under a concurrent CreateConnection or
    // FlushExpiredSessions (the context is shared by every thread that creates connections):
    // (leases << 1) | disposedBit. The last of Dispose / the last lease frees.
    private int _state;

    private SslContext(nint ctx, ulong id, bool isServer)
    {
        _ctx = ctx;
        Id = id;
        IsServer = isServer;
    }

    /// <summary>Frees the <c>SSL_CTX</c> if the context was never disposed.</summary>
    ~SslContext() => Free();

    /// <summary>Process-unique id of this context (a counter, never an address); sessions record it.</summary>
    public ulong Id { get; }

    /// <summary>Whether this is a server context (<c>TLS_server_method</c>).</summary>
    public bool IsServer { get; }

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => (Volatile.Read(ref _state) & 1) != 0 || Volatile.Read(ref _ctx) == 0;

    /// <summary>
    /// Called with every newly established session (the shim's <c>SSL_CTX_sess_set_new_cb</c>), after the
    /// I/O call that received it returns — never from inside OpenSSL. When null, sessions wait on the
    /// connection for <see cref="SslConnection.TryTakeNewSession(out SslSession)"/>.
    /// On a server context it fires for every session the server caches (TLS 1.2 by session id) and every TLS 1.3
    /// ticket it sends; a TLS 1.2 stateless ticket leaves no server session (OpenSSL gives it no id), so nothing fires.
    /// </summary>
    public SessionEstablishedHandler? SessionEstablished { get; set; }

    internal nint NativeHandle
    {
        get
        {
            nint ctx = _ctx;
            if (ctx == 0)
            {
                ThrowDisposed();
            }
            return ctx;
        }
    }

    /// <summary>
    /// Creates a client context (<c>SSL_CTX_new(TLS_client_method())</c>) that captures every new session and, by
    /// default, verifies servers: chain against the system trust store and the options' trusted certificates
    /// (<c>SSL_VERIFY_PEER</c>), names against the connection's server name (<c>SSL_set1_host</c>).
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, or a certificate, key or trust file OpenSSL cannot load.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative cache size or timeout.</exception>
    /// <exception cref="InvalidOperationException"><c>SSL_CTX_new</c> failed.</exception>
    public static SslContext CreateClient(SslClientOptions? options = null)
    {
        options ??= new SslClientOptions();
        options.Validate();
        SslContext context = Create(options, isServer: false, numTickets: -1, verifyPeer: false);
        try
        {
            context.ApplyClientSecurity(options);
            context.ApplyEarlyData(options); // SslContext.EarlyData.cs
            context.SetAlpn(options.ApplicationProtocols);
            return context;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a server context (<c>SSL_CTX_new(TLS_server_method())</c>) with the certificate and key of
    /// <paramref name="options"/> (an <see cref="System.Security.Cryptography.X509Certificates.X509Certificate2"/> or PEM),
    /// or an ephemeral self-signed ECDSA P-256 certificate; per-name certificates and client certificate checks as set.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, or a certificate, key or trust file OpenSSL cannot load.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative cache size or timeout, a ticket count outside 0..16, or an
    /// <see cref="SslServerOptions.EarlyDataReplayGuardTimeout"/> outside zero to one minute.</exception>
    /// <exception cref="InvalidOperationException"><c>SSL_CTX_new</c> failed.</exception>
    public static SslContext CreateServer(SslServerOptions? options = null)
    {
        options ??= new SslServerOptions();
        options.Validate();
        SslContext context = Create(options, isServer: true, numTickets: options.TicketCount, verifyPeer: false);
        try
        {
            if (options.Certificate is not null)
            {
                context.UseCertificate(options.Certificate, "Certificate");
            }
            else if (options.CertificatePem is not null)
            {
                byte[] cert = Encoding.ASCII.GetBytes(options.CertificatePem);
                byte[] key = Encoding.ASCII.GetBytes(options.PrivateKeyPem!);
                Check(ContextNative.SslCtxUseCertificateAndKeyPem(context, cert, cert.Length, key, key.Length), "Loading the certificate and private key PEM");
            }
            else
            {
                Check(ContextNative.SslCtxUseEphemeralCertificate(context, options.EphemeralCommonName, 30), "Generating the ephemeral ECDSA P-256 certificate");
            }
            context.SetAlpn(options.ApplicationProtocols);
            context.ApplyServerSecurity(options, isChild: false);
            context.ApplyEarlyData(options); // SslContext.EarlyData.cs
            return context;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a connection (<c>SSL_new</c> over two memory BIOs). <paramref name="serverName"/> is the client's SNI
    /// and, on a verifying client context, the name the server's certificate must match (<c>SSL_set1_host</c>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="serverName"/> contains a NUL or is empty or too long; a verifying
    /// client context was given no server name; a server context was given one.</exception>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    /// <exception cref="InvalidOperationException"><c>SSL_new</c> failed.</exception>
    public SslConnection CreateConnection(string? serverName = null)
    {
        CheckClientConnectionName(serverName);
        AddLease();
        try
        {
            return new SslConnection(this, serverName);
        }
        finally
        {
            ReleaseLease();
        }
    }

    /// <summary>
    /// Removes sessions expired at <paramref name="now"/> from the internal cache, marking them
    /// non-resumable (<c>SSL_CTX_flush_sessions</c>). Borrowed views of flushed sessions still fail their
    /// epoch check only when their connection changes; owned handles stay valid but non-resumable.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    public void FlushExpiredSessions(DateTimeOffset now)
    {
        AddLease();
        try
        {
            ContextNative.SslCtxFlushSessions(this, now.ToUnixTimeSeconds());
        }
        finally
        {
            ReleaseLease();
        }
    }

    /// <summary>Sessions in the internal (server) cache (<c>SSL_CTX_sess_number</c>).</summary>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    public long CachedSessionCount
    {
        get
        {
            AddLease();
            try
            {
                return ContextNative.SslCtxSessNumber(this);
            }
            finally
            {
                ReleaseLease();
            }
        }
    }

    /// <summary>The context's certificate as PEM (<c>PEM_write_bio_X509</c> of <c>SSL_CTX_get0_certificate</c>).</summary>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    /// <exception cref="InvalidOperationException">The context has no certificate (a client without one), or writing failed.</exception>
    public string GetCertificatePem()
    {
        AddLease();
        try
        {
            return GetCertificatePemCore();
        }
        finally
        {
            ReleaseLease();
        }
    }

    private string GetCertificatePemCore()
    {
        int length = ContextNative.SslCtxGetCertificatePem(this, default, 0, out int needed);
        if (length == ShimConstants.ErrArgument)
        {
            throw new InvalidOperationException("This context has no certificate.");
        }
        byte[] buffer = new byte[Math.Max(needed, 1)];
        length = ContextNative.SslCtxGetCertificatePem(this, buffer, buffer.Length, out needed);
        if (length < 0)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("Writing the certificate PEM"));
        }
        return Encoding.ASCII.GetString(buffer, 0, length);
    }

    /// <summary>Frees the <c>SSL_CTX</c> (<c>SSL_CTX_free</c>). Live connections and sessions keep their own references.</summary>
    public void Dispose()
    {
        int state;
        do
        {
            state = Volatile.Read(ref _state);
            if ((state & 1) != 0)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _state, state | 1, state) != state);
        Volatile.Read(ref _connectionPool)?.Close(); // pooled connections of FastSslStreams (SslConnectionPool.cs)
        if (state == 0)
        {
            Free(); // no call in flight; otherwise the last ReleaseLease frees
        }
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public override string ToString() => $"SslContext #{Id} ({(IsServer ? "server" : "client")}{(IsDisposed ? ", disposed" : "")})";

    private void AddLease()
    {
        int state;
        do
        {
            state = Volatile.Read(ref _state);
            if ((state & 1) != 0)
            {
                ThrowDisposed();
            }
        }
        while (Interlocked.CompareExchange(ref _state, state + 2, state) != state);
    }

    private void ReleaseLease()
    {
        if (Interlocked.Add(ref _state, -2) == 1)
        {
            Free(); // disposed while this call ran
        }
    }

    private void Free()
    {
        nint ctx = Interlocked.Exchange(ref _ctx, 0);
        if (ctx != 0)
        {
            ContextNative.SslCtxFree(ctx);
        }
    }

    private static SslContext Create(SslContextOptions options, bool isServer, int numTickets, bool verifyPeer)
    {
        ShimLayout.EnsureVerified();
        FsCtxOptions native = new()
        {
            IsServer = isServer ? 1 : 0,
            MinVersion = (int)options.MinVersion,
            MaxVersion = (int)options.MaxVersion,
            TicketsEnabled = options.EnableTickets ? 1 : 0,
            NumTickets = numTickets,
            SessionCacheSize = options.SessionCacheSize,
            SessionTimeoutSeconds = (long)options.SessionTimeout.TotalSeconds,
            // Servers capture too, so SessionEstablished fires on server contexts (every session cached or ticket sent).
            CaptureNewSessions = 1,
            VerifyPeer = verifyPeer ? 1 : 0,
        };
        nint ctx = ContextNative.SslCtxCreate(ref native, out ulong id);
        if (ctx == 0)
        {
            throw new InvalidOperationException(OpenSslError.ReasonOr("SSL_CTX_new"));
        }
        return new SslContext(ctx, id, isServer);
    }

    private void SetAlpn(IList<string> protocols)
    {
        if (protocols.Count == 0)
        {
            return;
        }
        var wire = new List<byte>();
        foreach (string protocol in protocols)
        {
            wire.Add((byte)protocol.Length);
            wire.AddRange(Encoding.ASCII.GetBytes(protocol));
        }
        byte[] bytes = wire.ToArray();
        Check(ContextNative.SslCtxSetAlpnProtos(this, bytes, bytes.Length), "Setting ALPN protocols");
    }

    private static void Check(int status, string operation)
    {
        if (status != ShimConstants.Ok)
        {
            throw new ArgumentException(OpenSslError.ReasonOr(operation));
        }
    }

    private void ThrowDisposed() => throw new ObjectDisposedException(nameof(SslContext), $"SslContext #{Id} has been disposed.");
}
