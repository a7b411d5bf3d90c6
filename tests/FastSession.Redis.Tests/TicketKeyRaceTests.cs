using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Redis.Tests.Infrastructure;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Redis.Tests;

/// <summary>
/// Rotation under load: handshakes on several threads while another thread keeps installing new key sets and
/// disposing rings. Bounded (2 s; FASTSESSION_FLEET_RACE_SECONDS lengthens it); every handshake must succeed and
/// every ticket under a key still in the ring must resume.
/// </summary>
public sealed class TicketKeyRaceTests : LiveObjectTest
{
    private static TimeSpan Duration => TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("FASTSESSION_FLEET_RACE_SECONDS"), out double s) && s > 0 ? s : 2);

    [Fact]
    public async Task InstallDuringHandshakes_NeverBreaksAConnection()
    {
        using var ring = new TicketKeyRing();
        var keys = new List<TicketKey> { TicketKey.Generate(), TicketKey.Generate() };
        ring.Install(keys);
        using SslContext a = Pairs.Server(TlsVersion.Tls13, ring);
        using SslContext b = Pairs.Server(TlsVersion.Tls13, ring);
        using SslContext client = Pairs.Client(TlsVersion.Tls13);
        var stop = Stopwatch.StartNew();
        long handshakes = 0, resumed = 0;

        Task rotator = Task.Run(() =>
        {
            while (stop.Elapsed < Duration)
            {
                // Rotate: a new encrypting key, the previous one kept for decryption (so nothing in flight breaks).
                var next = new List<TicketKey> { TicketKey.Generate(), keys[0].WithNotAfter(null) };
                ring.Install(next);
                foreach (TicketKey old in keys)
                {
                    old.Dispose();
                }
                keys = next;
                // Rings made and dropped concurrently with handshakes on the attached contexts.
                using var scratch = new TicketKeyRing();
                scratch.Install(next);
                _ = scratch.Counts;
                Thread.Yield();
            }
        });
        Task[] workers = new Task[2];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(() =>
            {
                SslSession session = default;
                int i = 0;
                while (stop.Elapsed < Duration)
                {
                    (bool reused, SslSession next) = Pairs.Connect(client, i++ % 2 == 0 ? a : b, session);
                    session.Dispose();
                    session = next;
                    Interlocked.Increment(ref handshakes);
                    if (reused)
                    {
                        Interlocked.Increment(ref resumed);
                    }
                }
                session.Dispose();
            });
        }
        await Task.WhenAll([rotator, .. workers]);
        foreach (TicketKey key in keys)
        {
            key.Dispose();
        }
        Assert.True(handshakes > 10, handshakes.ToString());
        // A ticket can miss only when two rotations pass between its issue and its use (its key left the ring).
        Assert.True(resumed > 0, $"{resumed}/{handshakes}");
        TicketKeyCounts counts = ring.Counts;
        Assert.True(counts.Issued > 0 && counts.Resumed + counts.Renewed > 0, counts.ToString());
    }
}
