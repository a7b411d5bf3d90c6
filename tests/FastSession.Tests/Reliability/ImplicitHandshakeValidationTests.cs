using System;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Issue #11's leftover: a client's <see cref="SslClientOptions.ServerCertificateValidation"/> callback must run when the
/// handshake is driven only by <see cref="SslConnection.Read"/> / <see cref="SslConnection.Write"/> (an implicit
/// handshake), exactly as under <see cref="SslConnection.Handshake"/>. Before, such a handshake failed with
/// "runs only in Handshake()".
/// </summary>
public sealed class ImplicitHandshakeValidationTests : LiveObjectTest
{
    public static TheoryData<TlsVersion> Versions => new() { TlsVersion.Tls12, TlsVersion.Tls13 };

    [Theory]
    [MemberData(nameof(Versions))]
    public void HandshakeDrivenByReadAndWrite_RunsTheCallback_AndDataFlowsBothWays(TlsVersion version)
    {
        using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version });
        using X509Certificate2 expected = X509Certificate2.CreateFromPem(server.GetCertificatePem());
        int calls = 0;
        using SslContext client = SslContext.CreateClient(new SslClientOptions
        {
            MinVersion = version,
            MaxVersion = version,
            UseSystemTrustStore = false,
            ServerCertificateValidation = (connection, v) =>
            {
                calls++;
                Assert.False(connection.IsHandshakeComplete);
                return v.GetCertificateDer(0).AsSpan().SequenceEqual(expected.RawData); // pinning
            },
        });
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();

        string received = Drive(c, s, "ping from the client");

        Assert.Equal(1, calls);
        Assert.True(c.IsHandshakeComplete);
        Assert.Equal("ping from the client", received);
        Assert.Equal(System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors, c.CertificateErrors);

        // And back: the server's reply reaches the client through Read.
        byte[] toClient = new byte[64 * 1024], plain = new byte[64 * 1024], scratch = new byte[64 * 1024];
        SslIoResult w = s.Write("pong"u8, toClient);
        Assert.True(w.IsCompleted, w.Error);
        SslIoResult r = c.Read(toClient.AsSpan(0, w.OutputBytes), plain, scratch);
        Assert.Equal("pong", Encoding.ASCII.GetString(plain, 0, r.PlaintextBytes));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void HandshakeDrivenByRead_CallbackRejects_FailsWithTheCallbacksReason(TlsVersion version)
    {
        using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version });
        int calls = 0;
        using SslContext client = SslContext.CreateClient(new SslClientOptions
        {
            MinVersion = version,
            MaxVersion = version,
            UseSystemTrustStore = false,
            ServerCertificateValidation = (_, _) => { calls++; return false; },
        });
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();

        var e = Assert.Throws<SslHandshakeException>(() => Drive(c, s, "never sent"));
        Assert.Contains("callback rejected", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, calls);
        Assert.False(c.IsHandshakeComplete);
        Assert.True(c.IsFaulted);
    }

    // The client never calls Handshake: its first Write starts the handshake, its Reads carry it on. The server
    // runs Handshake, then Read. Returns what the server decrypted.
    private static string Drive(SslConnection c, SslConnection s, string message)
    {
        byte[] toServer = new byte[64 * 1024], toClient = new byte[64 * 1024], plain = new byte[64 * 1024];
        byte[] payload = Encoding.ASCII.GetBytes(message);
        var text = new StringBuilder();
        bool written = false;
        int nToServer = 0;
        for (int flight = 0; flight < 16; flight++)
        {
            if (!written)
            {
                SslIoResult w = c.Write(payload, toServer.AsSpan(nToServer));
                Throw(w);
                nToServer += w.OutputBytes;
                written = w.IsCompleted;
            }
            if (nToServer == 0 && written && text.Length == message.Length)
            {
                return text.ToString();
            }
            SslIoResult sr = s.IsHandshakeComplete
                ? s.Read(toServer.AsSpan(0, nToServer), plain, toClient)
                : s.Handshake(toServer.AsSpan(0, nToServer), toClient);
            Throw(sr);
            nToServer = 0;
            if (s.IsHandshakeComplete && sr.Operation == SslOperation.Read)
            {
                text.Append(Encoding.ASCII.GetString(plain, 0, sr.PlaintextBytes));
            }
            if (sr.OutputBytes > 0)
            {
                SslIoResult cr = c.Read(toClient.AsSpan(0, sr.OutputBytes), plain, toServer);
                Throw(cr);
                nToServer = cr.OutputBytes;
            }
            if (written && text.Length == message.Length)
            {
                return text.ToString();
            }
        }
        throw new InvalidOperationException($"the exchange did not finish (received '{text}')");
    }

    private static void Throw(SslIoResult result)
    {
        if (result.Status == SslStatus.Failed)
        {
            throw new SslHandshakeException(result.Error ?? "failed");
        }
    }
}
