using System.IO;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using FastSession.Http;
using FastSession.Tests.Infrastructure;

namespace FastSession.Hosts.Tests;

/// <summary>
/// <see cref="LiveObjectTest"/> for the hosts: the live-object counters see every OpenSSL object in the process, and .NET's own
/// SslStream (the ALPN mirror, Kestrel's UseHttps) and X509 stores share that libssl and keep process-wide caches (SSL_CTX per
/// option set, the root store). One warm-up fills those caches before any baseline, so each test's check still catches what
/// FastSession and these packages leak.
/// </summary>
public abstract class HostsTest : LiveObjectTest
{
    // In another class: a static method of this one, called from the pool while this constructor waits, would wait for it.
    static HostsTest() => Task.Run(ProcessCaches.WarmUpAsync).GetAwaiter().GetResult();
}

internal static class ProcessCaches
{
    public static async Task WarmUpAsync()
    {
        // Load the shim (and its counters) first: what the warm-up puts in .NET's caches is then counted before any baseline, and a
        // later replacement of a cached entry (the TLS 1.2 mirror session) is balanced.
        _ = LiveObjectCounts.Current;
        using (var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine))
        {
            store.Open(OpenFlags.ReadOnly);
            foreach (X509Certificate2 certificate in store.Certificates)
            {
                certificate.Dispose();
            }
        }
        foreach (string? alpn in new[] { null, "h2", "http/1.1" })
        {
            (Stream client, Stream server) = AlpnMirror.CreatePair();
            await using var ssl = new SslStream(client);
            await AlpnMirror.AuthenticateAsync(ssl, server, alpn, default);
        }
    }
}
