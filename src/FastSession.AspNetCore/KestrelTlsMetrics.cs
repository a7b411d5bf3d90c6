using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;

namespace FastSession.AspNetCore;

/// <summary>
/// Kestrel's own TLS instruments, fed by the FastSession path: <c>kestrel.tls_handshake.duration</c> and
/// <c>kestrel.active_tls_handshakes</c> on the meter <c>Microsoft.AspNetCore.Server.Kestrel</c>, created through the application's
/// <see cref="IMeterFactory"/> (which hands back the meter Kestrel itself uses, and the meter the instruments already registered
/// there), so dashboards built for <c>UseHttps</c> keep working. Tags as Kestrel's: <c>tls.protocol.version</c> ("1.2", "1.3"),
/// <c>error.type</c> on failure, <c>server.address</c>/<c>server.port</c>/<c>network.type</c>. The FastSession meter records
/// the same handshakes with the resumption reason (<c>tls.handshake.duration</c>, <c>fastsession.tls.handshakes</c>).
/// </summary>
internal sealed class KestrelTlsMetrics
{
    private static readonly double[] ShortSeconds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
    private readonly Histogram<double> _duration;
    private readonly UpDownCounter<long> _active;

    private KestrelTlsMetrics(Meter meter)
    {
        _duration = meter.CreateHistogram<double>("kestrel.tls_handshake.duration", unit: "s",
            description: "The duration of TLS handshakes on the server.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ShortSeconds });
        _active = meter.CreateUpDownCounter<long>("kestrel.active_tls_handshakes", unit: "{handshake}",
            description: "Number of TLS handshakes that are currently in progress on the server.");
    }

    public static KestrelTlsMetrics? Create(IMeterFactory? factory) =>
        factory is null ? null : new KestrelTlsMetrics(factory.Create("Microsoft.AspNetCore.Server.Kestrel"));

    public bool Enabled => _duration.Enabled || _active.Enabled;

    public void Start(EndPoint? local)
    {
        if (_active.Enabled)
        {
            TagList tags = default;
            AddEndPoint(ref tags, local);
            _active.Add(1, tags);
        }
    }

    public void Stop(EndPoint? local, long startTimestamp, TlsVersion protocol, Exception? error)
    {
        if (_active.Enabled)
        {
            TagList tags = default;
            AddEndPoint(ref tags, local);
            _active.Add(-1, tags);
        }
        if (_duration.Enabled)
        {
            TagList tags = default;
            AddEndPoint(ref tags, local);
            if (protocol is TlsVersion.Tls12 or TlsVersion.Tls13)
            {
                tags.Add("tls.protocol.version", protocol == TlsVersion.Tls13 ? "1.3" : "1.2");
            }
            if (error is not null)
            {
                tags.Add("error.type", error.GetType().FullName);
            }
            _duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
        }
    }

    private static void AddEndPoint(ref TagList tags, EndPoint? local)
    {
        if (local is IPEndPoint ip)
        {
            tags.Add("server.address", ip.Address.ToString());
            tags.Add("server.port", ip.Port);
            tags.Add("network.type", ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4");
        }
    }
}
