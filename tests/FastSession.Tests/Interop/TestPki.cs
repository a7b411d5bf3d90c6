using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastSession.Tests.Interop;

/// <summary>A temporary directory with a self-signed ECDSA P-256 certificate and key as PEM files; deleted on Dispose.</summary>
public sealed class TestPki : IDisposable
{
    public TestPki()
    {
        Directory = Path.Combine(Path.GetTempPath(), "fastsession-interop-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 certificate = request.CreateSelfSigned(now.AddHours(-1), now.AddDays(7));
        CertificatePem = certificate.ExportCertificatePem();
        KeyPem = key.ExportPkcs8PrivateKeyPem();
        CertificateFile = Path.Combine(Directory, "cert.pem");
        KeyFile = Path.Combine(Directory, "key.pem");
        File.WriteAllText(CertificateFile, CertificatePem);
        File.WriteAllText(KeyFile, KeyPem);
    }

    public string Directory { get; }

    public string CertificateFile { get; }

    public string KeyFile { get; }

    public string CertificatePem { get; }

    public string KeyPem { get; }

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>A port free right now on 127.0.0.1 (for a child process to bind).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
