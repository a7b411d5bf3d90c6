using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text;
using FastSession.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Property test of the import paths (issue 7): real sessions from real handshakes, exported as DER and PEM,
/// mutated 100,000 times (deterministic seed) and fed to <see cref="SslSession.FromDer"/> /
/// <see cref="SslSession.FromPem"/>. The only failure allowed is <see cref="SslSessionFormatException"/>; a
/// mutation that still decodes must give a session whose info, encodings and resumption attempt all work, and
/// that disposes cleanly. Nothing may leak: the live SSL_SESSION / X509 counts return to their baseline.
/// </summary>
/// <remarks>
/// FASTSESSION_MUTATION_ITERATIONS and FASTSESSION_MUTATION_SEED override the defaults (100,000 and 0x5E55).
/// </remarks>
public sealed class MutatedSessionImportTests : LiveObjectTest
{
    private const int DefaultIterations = 100_000;
    private const int DefaultSeed = 0x5E55;
    // Decodable, resumable mutants also go through a real resumption attempt (bounded for time).
    private const int MaxResumptionAttempts = 400;
    private const int MaxReportedFailures = 8;

    private readonly ITestOutputHelper _output;
    private readonly SslMemoryPipe _pipe = new();

    public MutatedSessionImportTests(ITestOutputHelper output) => _output = output;

    private sealed record Pair(string Name, SslContext Server, SslContext Client) : IDisposable
    {
        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
        }
    }

    [Fact]
    public void MutatedDerAndPem_OnlyEverThrowSslSessionFormatException_AndLeakNothing()
    {
        int iterations = EnvInt("FASTSESSION_MUTATION_ITERATIONS", DefaultIterations);
        int seed = EnvInt("FASTSESSION_MUTATION_SEED", DefaultSeed);

        var pairs = new List<Pair>
        {
            new("tls12-id", Tls.Server(TlsVersion.Tls12, tickets: false, alpn: "h2"), Tls.Client(TlsVersion.Tls12, tickets: false, alpn: "h2")),
            new("tls12-ticket", Tls.Server(TlsVersion.Tls12, tickets: true), Tls.Client(TlsVersion.Tls12, tickets: true)),
            new("tls13", Tls.Server(TlsVersion.Tls13, ticketCount: 2, alpn: new[] { "h2", "http/1.1" }), Tls.Client(TlsVersion.Tls13, alpn: new[] { "h2", "http/1.1" })),
        };
        try
        {
            var sources = new List<(SessionMutator.Source Source, Pair Pair)>();
            foreach (Pair pair in pairs)
            {
                (SslSession client, SslSession server) = Capture(pair);
                using (client)
                using (server)
                {
                    sources.Add((SessionMutator.Source.From(pair.Name + "-client", client.ToDer(), client.ToPem()), pair));
                    sources.Add((SessionMutator.Source.From(pair.Name + "-server", server.ToDer(), server.ToPem()), pair));
                }
            }
            var donors = sources.ConvertAll(s => s.Source);
            // The TLS 1.2 session-id server keeps its sessions in its internal cache: empty the caches so the
            // count compares only what the import loop creates and frees.
            FlushServerCaches(pairs);
            LiveObjectCounts baseline = LiveObjectCounts.Current;

            var mutator = new SessionMutator(seed);
            var stats = new Stats();
            var failures = new List<string>();
            var clock = Stopwatch.StartNew();
            var description = new StringBuilder();

            for (int i = 0; i < iterations && failures.Count < MaxReportedFailures; i++)
            {
                (SessionMutator.Source source, Pair pair) = sources[i % sources.Count];
                description.Clear();
                bool pem = i % 10 >= 7; // 70% DER, 30% PEM
                byte[]? der = null;
                string? text = null;
                if (pem)
                {
                    text = mutator.MutatePem(source, donors, description);
                }
                else
                {
                    der = mutator.MutateDer(source, donors, description);
                }

                SslSession session;
                try
                {
                    session = pem ? SslSession.FromPem(text!, pair.Client) : SslSession.FromDer(der, pair.Client);
                }
                catch (SslSessionFormatException)
                {
                    stats.Rejected++;
                    continue;
                }
                catch (Exception e)
                {
                    failures.Add(Describe(i, source.Name, description, der, text, $"import threw {e.GetType().Name} instead of SslSessionFormatException: {e.Message}"));
                    continue;
                }

                using (session)
                {
                    stats.Decoded++;
                    try
                    {
                        Exercise(session, pair, stats);
                    }
                    catch (Exception e)
                    {
                        failures.Add(Describe(i, source.Name, description, der, text, $"a decodable mutant failed: {e.GetType().Name}: {e.Message}\n{e.StackTrace}"));
                    }
                }
            }

            clock.Stop();
            FlushServerCaches(pairs);
            LiveObjectCounts after = LiveObjectCounts.Current;
            _output.WriteLine($"seed 0x{seed:x}, {iterations:N0} mutants in {clock.Elapsed.TotalSeconds:F1} s: " +
                $"{stats.Rejected:N0} rejected with SslSessionFormatException, {stats.Decoded:N0} still decoded " +
                $"({stats.Resumable:N0} resumable; resumption attempts {stats.ResumeAttempts}: {stats.Resumed} resumed, " +
                $"{stats.FullHandshake} full handshake, {stats.HandshakeFailed} handshake failed with SslHandshakeException)");
            _output.WriteLine($"live objects: before {baseline}, after {after}");
            foreach (string f in failures)
            {
                _output.WriteLine(f);
            }

            Assert.True(failures.Count == 0, $"{failures.Count} mutant(s) misbehaved:\n{string.Join("\n\n", failures)}");
            Assert.Equal(baseline, after);
            Assert.True(stats.Rejected > iterations / 2, "most mutants should be rejected; the mutator may be broken");
        }
        finally
        {
            foreach (Pair pair in pairs)
            {
                pair.Dispose();
            }
        }
    }

    private static void FlushServerCaches(List<Pair> pairs)
    {
        foreach (Pair pair in pairs)
        {
            pair.Server.FlushExpiredSessions(DateTimeOffset.UtcNow.AddYears(100));
        }
    }

    /// <summary>Everything a caller may do with an imported session; any exception is a finding.</summary>
    private void Exercise(SslSession session, Pair pair, Stats stats)
    {
        session.GetInfo(out SslSessionInfo info);
        // Every decodable mutant: the snapshot, DER re-encoding (stable) and the resumable flag. The
        // fuller round (PEM, text, re-bind, resumption) runs on every fourth one to keep the test short.
        bool full = stats.Decoded % 4 == 1;
        if (info.IsResumable)
        {
            stats.Resumable++;
        }
        Assert.Equal(pair.Client.Id, info.ContextId);
        Assert.Equal(pair.Client.Id, session.ContextId);
        Assert.Equal(info.IsResumable, session.IsResumable);
        Assert.Equal(info.SessionId, session.Id);
        Assert.Equal(info.Protocol, session.Protocol);
        _ = info.CipherSuite;
        _ = info.CipherName;
        _ = info.ServerName;
        _ = info.ApplicationProtocol;
        _ = info.HasTicket;
        _ = info.TicketLifetimeHint;
        _ = info.MaxEarlyData;
        _ = info.Timeout;
        _ = info.Time;
        _ = info.ExpiresAt;
        _ = session.ToString();

        byte[] der = session.ToDer();
        using (SslSession again = SslSession.FromDer(der, pair.Client))
        {
            Assert.Equal(der, again.ToDer());
        }
        if (!full)
        {
            return;
        }
        string pem = session.ToPem();
        using (SslSession fromPem = SslSession.FromPem(pem, pair.Client))
        {
            Assert.Equal(der, fromPem.ToDer());
        }
        _ = session.ToText();

        // A session stays bound to the context it was imported into (S12); a copy goes through DER.
        using (SslSession rebound = session.RebindTo(pair.Server))
        {
            Assert.Equal(pair.Server.Id, rebound.ContextId);
        }

        if (!info.IsResumable || stats.ResumeAttempts >= MaxResumptionAttempts)
        {
            return;
        }

        // Offer the mutant to a real server: resumed, a full handshake, or a handshake failure are all fine.
        stats.ResumeAttempts++;
        using SslConnection client = pair.Client.CreateConnection("localhost");
        using SslConnection server = pair.Server.CreateConnection();
        client.SetSession(session);
        try
        {
            _pipe.Handshake(client, server);
        }
        catch (SslHandshakeException)
        {
            stats.HandshakeFailed++;
            return;
        }
        if (client.SessionReused)
        {
            stats.Resumed++;
        }
        else
        {
            stats.FullHandshake++;
        }
        _pipe.Shutdown(client, server);
        while (client.TryTakeNewSession(out SslSession fresh))
        {
            fresh.Dispose();
        }
    }

    private (SslSession Client, SslSession Server) Capture(Pair pair)
    {
        using SslConnection client = pair.Client.CreateConnection("localhost");
        using SslConnection server = pair.Server.CreateConnection();
        _pipe.Handshake(client, server);
        _pipe.Shutdown(client, server);
        Assert.True(server.TryAcquireSession(out SslSession serverSession));
        SslSession last = default;
        while (client.TryTakeNewSession(out SslSession next))
        {
            last.Dispose();
            last = next;
        }
        while (server.TryTakeNewSession(out SslSession extra))
        {
            extra.Dispose();
        }
        Assert.False(last.IsNone);
        Assert.True(last.IsResumable);
        return (last, serverSession);
    }

    private static string Describe(int iteration, string source, StringBuilder mutation, byte[]? der, string? pem, string what) =>
        $"#{iteration} from {source} [{mutation}]: {what}\n" +
        (der is not null ? $"  DER ({der.Length} bytes): {Convert.ToHexString(der)}" : $"  PEM ({pem!.Length} chars): {Convert.ToHexString(Encoding.UTF8.GetBytes(pem))}");

    private static int EnvInt(string name, int fallback)
    {
        string? value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(value))
        {
            return fallback;
        }
        return value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? Convert.ToInt32(value[2..], 16)
            : int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed class Stats
    {
        public int Rejected;
        public int Decoded;
        public int Resumable;
        public int ResumeAttempts;
        public int Resumed;
        public int FullHandshake;
        public int HandshakeFailed;
    }
}
