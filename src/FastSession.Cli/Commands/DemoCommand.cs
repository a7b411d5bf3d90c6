using System;
using System.CommandLine;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Cli.Commands;

/// <summary>
/// <c>fastsession demo</c> (also the tool with no arguments): an in-process loopback server and client over memory BIOs.
/// For TLS 1.2 and TLS 1.3: a full handshake, a borrowed view (<c>SSL_get0_session</c>) that goes stale, the owned
/// capture of every session the new-session callback delivers, <c>SSL_get1_session</c>, a resumed handshake; a table of
/// what happened; then a short full-vs-resumed throughput run with the managed bytes allocated per handshake.
/// </summary>
internal static class DemoCommand
{
    private const double DefaultSeconds = 0.4;

    public static Command Create(CliIo io)
    {
        var seconds = new Option<double>("--seconds")
        {
            Description = "Length of each throughput measurement, in seconds.",
            DefaultValueFactory = _ => DefaultSeconds,
        };
        var command = new Command("demo", "In-process loopback: full handshake, borrowed view, owned capture of every ticket, resumed handshake, then full-vs-resumed throughput (the default command).");
        command.Options.Add(seconds);
        command.SetAction((parse, ct) => RunAsync(io, ct, parse.GetValue(seconds)));
        return command;
    }

    public static Task<int> RunAsync(CliIo io, CancellationToken cancellationToken, double seconds = DefaultSeconds)
    {
        if (!(seconds > 0) || seconds > 60)
        {
            throw CliException.Usage("--seconds must be more than 0 and at most 60.");
        }
        var output = io.Output;
        output.WriteLine("FastSession demo: OpenSSL 3 TLS sessions, client and server in this process over memory BIOs.");
        output.WriteLine();

        var pipe = new SslMemoryPipe();
        Walkthrough tls12 = Walk(TlsVersion.Tls12, pipe);
        Walkthrough tls13 = Walk(TlsVersion.Tls13, pipe);

        var table = new Table("step", "TLS 1.2", "TLS 1.3");
        table.Add("1. full handshake", $"{tls12.Protocol} {tls12.Cipher}", $"{tls13.Protocol} {tls13.Cipher}");
        table.Add("   reused", TlsText.YesNo(tls12.FullReused), TlsText.YesNo(tls13.FullReused));
        table.Add("2. borrowed view (SSL_get0_session)", $"id {tls12.ViewId}", $"id {tls13.ViewId}");
        table.Add("   resumable (SSL_SESSION_is_resumable)", TlsText.YesNo(tls12.ViewResumable), TlsText.YesNo(tls13.ViewResumable));
        table.Add("   used after the next engine call", tls12.StaleOutcome, tls13.StaleOutcome);
        table.Add("3. owned capture (new-session callback)", Count(tls12.Captured.Count, "session"), Count(tls13.Captured.Count, "ticket"));
        for (int i = 0; i < Math.Max(tls12.Captured.Count, tls13.Captured.Count); i++)
        {
            table.Add($"   #{i + 1}", Describe(tls12.Captured, i), Describe(tls13.Captured, i));
        }
        table.Add("4. owned reference (SSL_get1_session)", $"id {tls12.Get1Id}", $"id {tls13.Get1Id}");
        table.Add("   same as the last captured", TlsText.YesNo(tls12.Get1IsLast), TlsText.YesNo(tls13.Get1IsLast));
        table.Add("5. resumed handshake (SSL_set_session)", $"with id {tls12.OfferedId}", $"with id {tls13.OfferedId}");
        table.Add("   reused (client / server)", $"{TlsText.YesNo(tls12.ClientReused)} / {TlsText.YesNo(tls12.ServerReused)}", $"{TlsText.YesNo(tls13.ClientReused)} / {TlsText.YesNo(tls13.ServerReused)}");
        table.Add("   sessions captured on resumption", tls12.ResumedCaptured.ToString(CultureInfo.InvariantCulture), tls13.ResumedCaptured.ToString(CultureInfo.InvariantCulture));
        table.WriteTo(output);
        output.WriteLine();

        output.WriteLine($"Throughput over SslMemoryPipe ({seconds.ToString("0.##", CultureInfo.InvariantCulture)} s per row; connections reused with Reset(), clean shutdown each time):");
        var throughput = new Table("protocol", "mode", "handshakes/s", "us/handshake", "allocated B/handshake").AlignRight(2, 3, 4);
        foreach (TlsVersion version in new[] { TlsVersion.Tls12, TlsVersion.Tls13 })
        {
            Measurement full = Measure(version, resumed: false, seconds, cancellationToken);
            Measurement resumed = Measure(version, resumed: true, seconds, cancellationToken);
            foreach ((string mode, Measurement m) in new[] { ("full", full), ("resumed", resumed) })
            {
                throughput.Add(TlsText.OpenSslName(version), mode,
                    m.PerSecond.ToString("N0", CultureInfo.InvariantCulture),
                    m.MicrosecondsEach.ToString("N1", CultureInfo.InvariantCulture),
                    m.AllocatedEach.ToString("N0", CultureInfo.InvariantCulture));
            }
            if (resumed.ResumedCount != resumed.Count)
            {
                io.Error.WriteLine($"fastsession: warning: {resumed.Count - resumed.ResumedCount} of {resumed.Count} {TlsText.OpenSslName(version)} handshakes meant to resume did a full handshake.");
            }
        }
        throughput.WriteTo(output);
        output.WriteLine();
        output.WriteLine("Allocations are managed bytes on this thread (GC.GetAllocatedBytesForCurrentThread) divided by handshakes.");
        return Task.FromResult(ExitCodes.Ok);
    }

    private static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    private static string Describe(List<(string Id, bool Resumable)> captured, int i) =>
        i < captured.Count ? $"id {captured[i].Id}, resumable {TlsText.YesNo(captured[i].Resumable)}" : "";

    private static string Short(SslSessionId id)
    {
        string hex = id.ToString();
        return hex.Length == 0 ? "(empty)" : hex.Length <= 16 ? hex : hex[..16] + "...";
    }

    private static SslClientOptions TrustingOnly(SslContext server, TlsVersion version) => new()
    {
        MinVersion = version,
        MaxVersion = version,
        UseSystemTrustStore = false,
        TrustedCertificatesPem = server.GetCertificatePem(),
    };

    private static Walkthrough Walk(TlsVersion version, SslMemoryPipe pipe)
    {
        var walk = new Walkthrough { Protocol = TlsText.OpenSslName(version) };
        var captured = new List<SslSession>();
        using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version });
        // Verification stays on: the demo client trusts exactly its own server's ephemeral certificate (CN=localhost).
        using SslContext client = SslContext.CreateClient(TrustingOnly(server, version));
        // Owned capture: every session the shim's new-session callback caught, handed over after the engine call.
        client.SessionEstablished = (connection, session) => captured.Add(session);
        try
        {
            using (SslConnection c = client.CreateConnection("localhost"))
            using (SslConnection s = server.CreateConnection())
            {
                pipe.Handshake(c, s);
                walk.FullReused = c.SessionReused;

                if (c.TryBorrowSession(out SslSessionRef view))
                {
                    view.GetInfo(out SslSessionInfo info);
                    walk.Cipher = info.CipherName;
                    walk.ViewId = Short(info.SessionId);
                    walk.ViewResumable = view.IsResumable;
                    // Any engine call may change or free the session: the view checks the connection's epoch.
                    Span<byte> echo = stackalloc byte[5];
                    pipe.Send(c, s, "hello"u8, echo);
                    try
                    {
                        _ = view.Id;
                        walk.StaleOutcome = "still readable (unexpected)";
                    }
                    catch (InvalidOperationException)
                    {
                        walk.StaleOutcome = "InvalidOperationException (stale)";
                    }
                }

                foreach (SslSession session in captured)
                {
                    walk.Captured.Add((Short(session.Id), session.IsResumable));
                }
                if (c.TryAcquireSession(out SslSession owned))
                {
                    using (owned)
                    {
                        walk.Get1Id = Short(owned.Id);
                        walk.Get1IsLast = captured.Count > 0 && owned.Id == captured[^1].Id;
                    }
                }
                // A clean shutdown keeps the session resumable (S8).
                pipe.Shutdown(c, s);
            }

            int before = captured.Count;
            SslSession resumeWith = captured.Count > 0 ? captured[^1] : default;
            using (SslConnection c = client.CreateConnection("localhost"))
            using (SslConnection s = server.CreateConnection())
            {
                if (!resumeWith.IsNone)
                {
                    walk.OfferedId = Short(resumeWith.Id);
                    c.SetSession(resumeWith);
                }
                pipe.Handshake(c, s);
                walk.ClientReused = c.SessionReused;
                walk.ServerReused = s.SessionReused;
                pipe.Shutdown(c, s);
            }
            walk.ResumedCaptured = captured.Count - before;
        }
        finally
        {
            client.SessionEstablished = null;
            foreach (SslSession session in captured)
            {
                session.Dispose();
            }
        }
        return walk;
    }

    private static Measurement Measure(TlsVersion version, bool resumed, double seconds, CancellationToken cancellationToken)
    {
        var pipe = new SslMemoryPipe();
        var keeper = new LatestSession();
        using SslContext server = SslContext.CreateServer(new SslServerOptions { MinVersion = version, MaxVersion = version });
        // Verification stays on: the demo client trusts exactly its own server's ephemeral certificate (CN=localhost).
        using SslContext client = SslContext.CreateClient(TrustingOnly(server, version));
        client.SessionEstablished = keeper.OnSessionEstablished;
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        try
        {
            int reusedCount = 0;
            bool One()
            {
                c.Reset();
                s.Reset();
                if (resumed && !keeper.Latest.IsNone)
                {
                    c.SetSession(keeper.Latest);
                }
                pipe.Handshake(c, s);
                bool reused = c.SessionReused;
                pipe.Shutdown(c, s);
                return reused;
            }

            for (int i = 0; i < 20; i++)
            {
                One();
            }
            long budget = (long)(seconds * Stopwatch.Frequency);
            int count = 0;
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            long elapsed;
            do
            {
                if (One())
                {
                    reusedCount++;
                }
                count++;
                elapsed = Stopwatch.GetTimestamp() - start;
            }
            while (elapsed < budget && !cancellationToken.IsCancellationRequested);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            double secondsTaken = (double)elapsed / Stopwatch.Frequency;
            return new Measurement(count, count / secondsTaken, secondsTaken * 1e6 / count, (double)allocated / count, reusedCount);
        }
        finally
        {
            client.SessionEstablished = null;
            keeper.Latest.Dispose();
        }
    }

    /// <summary>Keeps the newest session the callback delivered (TLS 1.3 tickets are used once, S9).</summary>
    internal sealed class LatestSession
    {
        public SslSession Latest;

        public void OnSessionEstablished(SslConnection connection, SslSession session)
        {
            Latest.Dispose();
            Latest = session;
        }
    }

    private readonly record struct Measurement(int Count, double PerSecond, double MicrosecondsEach, double AllocatedEach, int ResumedCount);

    private sealed class Walkthrough
    {
        public string Protocol = "";
        public string Cipher = "";
        public bool FullReused;
        public string ViewId = "(none)";
        public bool ViewResumable;
        public string StaleOutcome = "(no session)";
        public List<(string Id, bool Resumable)> Captured { get; } = new();
        public string Get1Id = "(none)";
        public bool Get1IsLast;
        public string OfferedId = "(none)";
        public bool ClientReused;
        public bool ServerReused;
        public int ResumedCaptured;
    }
}
