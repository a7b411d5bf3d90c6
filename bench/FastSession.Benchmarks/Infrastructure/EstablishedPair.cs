using System;

namespace FastSession.Benchmarks.Infrastructure;

/// <summary>
/// A client and a server connection after one handshake over <see cref="SslMemoryPipe"/>, the client's
/// TLS 1.3 tickets read: the session the micro-benchmarks borrow and acquire (same setup as the C reference,
/// bench/native/cbench.c, run_micro).
/// </summary>
internal sealed class EstablishedPair : IDisposable
{
    private EstablishedPair(SslContext serverContext, SslContext clientContext, SslConnection server, SslConnection client)
    {
        ServerContext = serverContext;
        ClientContext = clientContext;
        Server = server;
        Client = client;
    }

    public SslContext ServerContext { get; }

    public SslContext ClientContext { get; }

    public SslConnection Server { get; }

    public SslConnection Client { get; }

    /// <summary>The client's <c>SSL*</c>, for the baselines that bind it by hand.</summary>
    public IntPtr ClientSsl => Client.NativeHandle;

    public static EstablishedPair Create(TlsVersion protocol = TlsVersion.Tls13)
    {
        SslContext server = SslContext.CreateServer(Contexts.Server(protocol));
        SslContext client = SslContext.CreateClient(Contexts.Client(protocol));
        SslConnection serverConnection = server.CreateConnection();
        SslConnection clientConnection = client.CreateConnection("localhost");
        new SslMemoryPipe().Handshake(clientConnection, serverConnection);
        if (!clientConnection.TryBorrowSession(out SslSessionRef session) || !session.IsResumable)
        {
            throw new InvalidOperationException("The benchmark connection has no resumable session after its handshake.");
        }
        return new EstablishedPair(server, client, serverConnection, clientConnection);
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
        ClientContext.Dispose();
        ServerContext.Dispose();
    }
}

/// <summary>The context settings every benchmark (and the C reference's make_context) uses.</summary>
internal static class Contexts
{
    /// <summary>Long enough that no session expires during a run (OpenSSL's own default for TLS is 2 h too).</summary>
    public static readonly TimeSpan SessionTimeout = TimeSpan.FromHours(2);

    public static SslServerOptions Server(TlsVersion protocol) => new()
    {
        MinVersion = protocol,
        MaxVersion = protocol,
        SessionTimeout = SessionTimeout,
    };

    public static SslClientOptions Client(TlsVersion protocol, string? trustedCertificatePem = null) => new()
    {
        MinVersion = protocol,
        MaxVersion = protocol,
        SessionTimeout = SessionTimeout,
        // Without a certificate to trust (memory benchmarks against the C reference, which does not verify either)
        // verification is off explicitly; with one (TCP against SslStream, which verifies) it is on.
        DangerousAcceptAnyServerCertificate = trustedCertificatePem is null,
        UseSystemTrustStore = false,
        TrustedCertificatesPem = trustedCertificatePem,
    };
}
