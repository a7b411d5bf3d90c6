using System;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FastSession.Interop;

namespace FastSession;

public sealed partial class SslContext
{
    // The session id context (SSL_CTX_set_session_id_context) of a server that asks for client certificates: a digest of its
    // client-authentication policy. A session carries the context it was made under, and OpenSSL resumes it only under the same
    // one: a session of a listener that never asked for a certificate is a miss on one that requires a certificate, even when
    // both share a session store (UseServerSessionStore) or ticket keys. Processes of a fleet configured alike get the same digest
    // and still resume each other's sessions; servers without client certificates keep the shim's common "fastsession".
    private void ApplySessionIdContext(SslServerOptions options)
    {
        if (options.ClientCertificateMode == SslClientCertificateMode.NoCertificate)
        {
            return;
        }
        using var policy = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        policy.AppendData("fastsession/client-authentication/v1\0"u8);
        policy.AppendData([(byte)options.ClientCertificateMode, options.UseSystemTrustStore ? (byte)1 : (byte)0]);
        Append(policy, options.TrustedCertificatesPem);
        foreach (X509Certificate2 certificate in options.TrustedCertificates)
        {
            policy.AppendData(certificate.RawData);
        }
        Append(policy, options.TrustedCertificatesFile);
        Append(policy, options.TrustedCertificatesDirectory);
        Span<byte> sidCtx = stackalloc byte[32];
        policy.GetHashAndReset(sidCtx);
        Check(ServerCacheNative.SslCtxSetSessionIdContext(this, sidCtx, sidCtx.Length), "Setting the session id context");

        static void Append(IncrementalHash hash, string? value)
        {
            hash.AppendData(value is null ? [0] : [1]);
            hash.AppendData(Encoding.UTF8.GetBytes(value ?? ""));
            hash.AppendData([0]);
        }
    }
}
