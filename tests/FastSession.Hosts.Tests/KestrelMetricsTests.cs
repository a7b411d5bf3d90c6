using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using FastSession.Samples;
using FastSession.Tests.Interop;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace FastSession.Hosts.Tests;

/// <summary>Handshake metrics of a Kestrel endpoint with UseFastSession: Kestrel's own instruments and the FastSession meter.</summary>
public sealed class KestrelMetricsTests : HostsTest
{
    private readonly Peers _peers = new();

    public override void Dispose()
    {
        _peers.Dispose();
        base.Dispose();
    }

    [Fact]
    public async Task CurlTwice_RecordsKestrelsTlsHandshakeDuration_AndTheFastSessionServerHandshakes()
    {
        int port = TestPki.FreePort();
        using X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(_peers.Pki.CertificateFile, _peers.Pki.KeyFile);
        await using WebApplication app = KestrelSample.Build(port, certificate);
        IMeterFactory factory = app.Services.GetRequiredService<IMeterFactory>();
        var kestrel = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        var fastSession = new ConcurrentQueue<Dictionary<string, object?>>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                // Kestrel's meter of this app only (its scope is the app's factory); the FastSession meter is process-wide.
                if ((instrument.Meter.Name == "Microsoft.AspNetCore.Server.Kestrel" && instrument.Meter.Scope == factory
                        && instrument.Name is "kestrel.tls_handshake.duration" or "kestrel.active_tls_handshakes")
                    || (instrument.Meter.Name == FastSessionTelemetry.MeterName && instrument.Name == FastSessionTelemetry.HandshakeDuration))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            Dictionary<string, object?> t = tags.ToArray().ToDictionary(p => p.Key, p => p.Value);
            if (instrument.Meter.Name == FastSessionTelemetry.MeterName)
            {
                fastSession.Enqueue(t);
            }
            else
            {
                kestrel.Enqueue((instrument.Name, value, t));
            }
        });
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            kestrel.Enqueue((instrument.Name, value, tags.ToArray().ToDictionary(p => p.Key, p => p.Value))));
        listener.Start();
        await app.StartAsync();

        await Peers.RunAsync("", "curl", "-sS", "--cacert", _peers.Pki.CertificateFile, "--http1.1", "-H", "Connection: close",
            $"https://localhost:{port}/", "--next", "--http1.1", "--cacert", _peers.Pki.CertificateFile, $"https://localhost:{port}/");
        await app.StopAsync();

        var durations = kestrel.Where(m => m.Instrument == "kestrel.tls_handshake.duration").ToList();
        Assert.Equal(2, durations.Count);
        Assert.All(durations, d =>
        {
            Assert.Equal("1.3", d.Tags["tls.protocol.version"]);
            Assert.False(d.Tags.ContainsKey("error.type"));
            Assert.Equal(port, d.Tags["server.port"]);
            Assert.InRange(d.Value, 0, 30);
        });
        var active = kestrel.Where(m => m.Instrument == "kestrel.active_tls_handshakes").Select(m => m.Value).ToList();
        Assert.Equal(4, active.Count);
        Assert.Equal(0, active.Sum());

        // The same two handshakes in the FastSession meter, server side: the first full, the second resumed (other tests of the
        // process may add their own, so at least these two).
        var servers = fastSession.Where(t => (string?)t[FastSessionTelemetry.SideTag] == "server" && (string?)t[FastSessionTelemetry.ProtocolVersionTag] == "1.3").ToList();
        Assert.Contains(servers, t => t[FastSessionTelemetry.ResumedTag] is false);
        Assert.Contains(servers, t => t[FastSessionTelemetry.ResumedTag] is true);
    }

    [Fact]
    public async Task FailedHandshake_IsRecordedWithItsErrorType()
    {
        int port = TestPki.FreePort();
        using X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(_peers.Pki.CertificateFile, _peers.Pki.KeyFile);
        await using WebApplication app = KestrelSample.Build(port, certificate);
        IMeterFactory factory = app.Services.GetRequiredService<IMeterFactory>();
        var errors = new ConcurrentQueue<object?>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name == "kestrel.tls_handshake.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
            errors.Enqueue(tags.ToArray().FirstOrDefault(p => p.Key == "error.type").Value));
        listener.Start();
        await app.StartAsync();
        // Plain HTTP to the TLS endpoint: OpenSSL refuses the first record.
        await ToolProcess.RunAsync(Peers.Timeout, "", "curl", "-sS", "--max-time", "10", $"http://127.0.0.1:{port}/");
        await app.StopAsync();
        object? error = Assert.Single(errors);
        Assert.NotNull(error);
    }
}
