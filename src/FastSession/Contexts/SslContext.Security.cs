using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FastSession.Interop;

namespace FastSession;

// Peer verification, certificates from .NET types, per-name server certificates and the internal session cache
// (native-shim/src/verify.c, server.c). Kept apart from SslContext.cs so the context's lifetime code stays small.
public sealed partial class SslContext
{
    /// <summary>
    /// Whether connections of this context verify their peer (<c>SSL_VERIFY_PEER</c>): clients unless
    /// <see cref="SslClientOptions.DangerousAcceptAnyServerCertificate"/>, servers that ask for client certificates.
    /// </summary>
    public bool VerifiesPeer { get; private set; }

    /// <summary>Whether client connections check the server's name against its certificate (the default).</summary>
    public bool ChecksServerName { get; private set; }

    internal SslCertificateValidationCallback? ServerCertificateValidation { get; private set; }

    /// <summary>
    /// Adds <paramref name="session"/> to this context's internal cache (<c>SSL_CTX_add_session</c>): a server then
    /// resumes a client that offers its id; a session with the id of a cached one replaces it. Returns false when
    /// OpenSSL refuses (already cached). One <c>SSL_SESSION</c> lives in one <c>SSL_CTX</c>'s cache: a session bound to
    /// another context, or in (or once in) another context's cache, is refused with
    /// <see cref="SslContextMismatchException"/> (OpenSSL would link it into both lists and corrupt the first); add
    /// <c>session.RebindTo(this)</c> instead. From then on the session is cached for good as far as
    /// <see cref="SslSession.SetTime"/> / <see cref="SslSession.SetTimeout"/> are concerned (they refuse it); re-time a
    /// <see cref="SslSession.Copy"/> and add that.
    /// </summary>
    /// <exception cref="ObjectDisposedException">This context or the session was disposed.</exception>
    /// <exception cref="ArgumentException"><paramref name="session"/> is <c>default</c>.</exception>
    /// <exception cref="SslContextMismatchException">The session belongs to another context, or is in another context's cache.</exception>
    public bool AddSession(SslSession session) => ChangeInternalCache(session, add: true);

    /// <summary>
    /// Removes <paramref name="session"/> from this context's internal cache (<c>SSL_CTX_remove_session</c>), which
    /// also marks it non-resumable. Returns false when it was not cached. A session with the same id that this cache
    /// holds is removed too (OpenSSL looks sessions up by id). The session stays refused by
    /// <see cref="SslSession.SetTime"/> afterwards (the engine may have cached it again meanwhile); copies are free.
    /// </summary>
    /// <exception cref="ObjectDisposedException">This context or the session was disposed.</exception>
    /// <exception cref="ArgumentException"><paramref name="session"/> is <c>default</c>.</exception>
    public bool RemoveSession(SslSession session) => ChangeInternalCache(session, add: false);

    // SSL_CTX_add_session / SSL_CTX_remove_session under the context's lease; a refusal is a false, not a queued error.
    private bool ChangeInternalCache(SslSession session, bool add)
    {
        if (session.IsNone)
        {
            throw new ArgumentException("The session is default(SslSession).", nameof(session));
        }
        AddLease();
        try
        {
            int result = add ? ServerNative.SslCtxAddSession(this, session) : ServerNative.SslCtxRemoveSession(this, session);
            ErrorNative.ErrClearError();
            if (result == ShimConstants.ErrWrongContext)
            {
                ulong bound = session.ContextId;
                throw new SslContextMismatchException(bound, Id,
                    $"AddSession refused: the session belongs to SslContext #{bound}, or is (or was) in another context's session cache, " +
                    $"and this is SslContext #{Id}. One SSL_SESSION lives in one SSL_CTX's cache (OpenSSL would link it into both lists); " +
                    "add session.RebindTo(context), a copy bound to this context through DER, instead.");
            }
            return result == 1;
        }
        finally
        {
            ReleaseLease();
        }
    }

    /// <summary>Rejects a server name OpenSSL would silently cut (an embedded NUL) or that cannot be an SNI name.</summary>
    internal static void ValidateServerName(string? serverName, string parameterName)
    {
        if (serverName is null)
        {
            return;
        }
        if (serverName.Length == 0)
        {
            throw new ArgumentException("The server name is empty; pass null for none.", parameterName);
        }
        if (serverName.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The server name contains a NUL character; OpenSSL would send and check only '{serverName[..serverName.IndexOf('\0', StringComparison.Ordinal)]}'.", parameterName);
        }
        if (Encoding.UTF8.GetByteCount(serverName) > 255)
        {
            throw new ArgumentException("The server name is longer than 255 bytes (the SNI limit).", parameterName);
        }
    }

    private void CheckClientConnectionName(string? serverName)
    {
        ValidateServerName(serverName, nameof(serverName));
        if (!IsServer && ChecksServerName && serverName is null)
        {
            throw new ArgumentException(
                "This client context verifies the server's certificate against the connection's server name, and none was given. " +
                "Pass the host name (or IP address) the certificate must match to CreateConnection, or opt out with " +
                "SslClientOptions.DangerousAcceptAnyServerCertificate.", "serverName");
        }
    }

    private void ApplyClientSecurity(SslClientOptions options)
    {
        if (options.ClientCertificate is not null)
        {
            UseCertificate(options.ClientCertificate, "ClientCertificate");
        }
        else if (options.ClientCertificatePem is not null)
        {
            UseCertificatePem(options.ClientCertificatePem, options.ClientPrivateKeyPem!, "ClientCertificatePem / ClientPrivateKeyPem");
        }

        if (options.DangerousAcceptAnyServerCertificate)
        {
            Check(VerifyNative.SslCtxSetVerify(this, 0), "Turning verification off");
            return;
        }
        LoadTrust(options);
        int flags = ShimVerify.Peer | ShimVerify.CheckName;
        if (options.UseSystemTrustStore)
        {
            flags |= ShimVerify.DefaultPaths;
        }
        if (options.ServerCertificateValidation is not null)
        {
            flags |= ShimVerify.Defer;
        }
        Check(VerifyNative.SslCtxSetVerify(this, flags), "Configuring server certificate verification");
        VerifiesPeer = true;
        ChecksServerName = true;
        ServerCertificateValidation = options.ServerCertificateValidation;
    }

    private void ApplyServerSecurity(SslServerOptions options, bool isChild)
    {
        if (options.ClientCertificateMode != SslClientCertificateMode.NoCertificate)
        {
            LoadTrust(options);
            int flags = ShimVerify.Peer;
            if (options.ClientCertificateMode == SslClientCertificateMode.RequireCertificate)
            {
                flags |= ShimVerify.RequirePeerCertificate;
            }
            if (options.UseSystemTrustStore)
            {
                flags |= ShimVerify.DefaultPaths;
            }
            Check(VerifyNative.SslCtxSetVerify(this, flags), "Configuring client certificate verification");
            VerifiesPeer = true;
        }
        ApplySessionIdContext(options); // Fleet/SslContext.SessionIdentity.cs
        if (isChild)
        {
            return;
        }
        foreach (KeyValuePair<string, SslServerCertificate> entry in options.CertificatesByServerName)
        {
            AddServerNameContext(options, entry.Key, entry.Value);
        }
    }

    // One SSL_CTX per name, configured like this one but with its own certificate; the parent keeps a reference.
    private void AddServerNameContext(SslServerOptions options, string name, SslServerCertificate certificate)
    {
        using SslContext child = Create(options, isServer: true, numTickets: options.TicketCount, verifyPeer: false);
        if (certificate.Certificate is not null)
        {
            child.UseCertificate(certificate.Certificate, $"CertificatesByServerName[{name}]");
        }
        else
        {
            child.UseCertificatePem(certificate.CertificatePem!, certificate.PrivateKeyPem!, $"CertificatesByServerName[{name}]");
        }
        child.SetAlpn(options.ApplicationProtocols);
        child.ApplyServerSecurity(options, isChild: true);
        Check(ServerNative.SslCtxAddServerNameContext(this, name, child), $"Registering the certificate for '{name}'");
    }

    private void LoadTrust(SslContextOptions options)
    {
        if (!string.IsNullOrEmpty(options.TrustedCertificatesPem))
        {
            AddTrustedPem(Encoding.ASCII.GetBytes(options.TrustedCertificatesPem), "TrustedCertificatesPem");
        }
        foreach (X509Certificate2 certificate in options.TrustedCertificates)
        {
            AddTrustedPem(CertificatePem.PublicPem(certificate), "TrustedCertificates");
        }
        if (options.TrustedCertificatesFile is not null || options.TrustedCertificatesDirectory is not null)
        {
            Check(VerifyNative.SslCtxLoadVerifyLocations(this, options.TrustedCertificatesFile, options.TrustedCertificatesDirectory),
                "Loading TrustedCertificatesFile / TrustedCertificatesDirectory");
        }
    }

    private void AddTrustedPem(byte[] pem, string what)
    {
        Check(ContextNative.SslCtxAddTrustedCertificatePem(this, pem, pem.Length), $"Loading {what}");
        if (IsServer)
        {
            // Name the trusted issuers in the CertificateRequest, so clients pick the right certificate.
            Check(VerifyNative.SslCtxAddClientCaPem(this, pem, pem.Length), $"Loading {what} as client CA names");
        }
    }

    private void UseCertificate(X509Certificate2 certificate, string what)
    {
        byte[] cert = CertificatePem.PublicPem(certificate);
        byte[] key = CertificatePem.PrivateKeyPem(certificate);
        try
        {
            Check(ContextNative.SslCtxUseCertificateAndKeyPem(this, cert, cert.Length, key, key.Length), $"Loading {what}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private void UseCertificatePem(string certificatePem, string privateKeyPem, string what)
    {
        byte[] cert = Encoding.ASCII.GetBytes(certificatePem);
        byte[] key = Encoding.ASCII.GetBytes(privateKeyPem);
        try
        {
            Check(ContextNative.SslCtxUseCertificateAndKeyPem(this, cert, cert.Length, key, key.Length), $"Loading {what}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>FS_VERIFY_* of fastsession_shim.h.</summary>
    private static class ShimVerify
    {
        internal const int Peer = 1;
        internal const int RequirePeerCertificate = 2;
        internal const int DefaultPaths = 4;
        internal const int CheckName = 8;
        internal const int Defer = 16;
    }
}
