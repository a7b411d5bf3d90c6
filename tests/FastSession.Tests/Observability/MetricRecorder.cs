using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;

namespace FastSession.Tests.Observability;

/// <summary>
/// Listens to the <c>FastSession</c> meter with a real <see cref="MeterListener"/> and keeps every measurement with its
/// tags. The meter is process-wide, so tests using it derive from LiveObjectTest (a collection that runs alone).
/// </summary>
internal sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly object _lock = new();
    private readonly List<Recorded> _measurements = new();

    public MetricRecorder()
    {
        FastSessionMetrics.EnsureCreated();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == FastSessionTelemetry.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    public sealed record Recorded(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags)
    {
        public bool Has(params (string Key, object Value)[] tags) =>
            tags.All(t => Tags.TryGetValue(t.Key, out object? v) && Equals(v, t.Value));
    }

    public IReadOnlyList<Recorded> Of(string instrument, params (string Key, object Value)[] tags)
    {
        lock (_lock)
        {
            return _measurements.Where(m => m.Instrument == instrument && m.Has(tags)).ToArray();
        }
    }

    /// <summary>Sum of the values of a counter's measurements that carry every given tag.</summary>
    public long Sum(string instrument, params (string Key, object Value)[] tags) => (long)Of(instrument, tags).Sum(m => m.Value);

    /// <summary>The current values of observable instruments (each callback once), by instrument and tag set.</summary>
    public long Observe(string instrument, params (string Key, object Value)[] tags)
    {
        lock (_lock)
        {
            _measurements.RemoveAll(m => m.Instrument == instrument);
        }
        _listener.RecordObservableInstruments();
        return Sum(instrument, tags);
    }

    public void Clear()
    {
        lock (_lock)
        {
            _measurements.Clear();
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }
        lock (_lock)
        {
            _measurements.Add(new Recorded(instrument.Name, value, copy));
        }
    }
}
