using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Runtime.InteropServices;

namespace FastSession.Cli;

/// <summary>
/// <c>serve</c>'s resumption summary: listens to the <c>FastSession</c> meter's server-side
/// <c>fastsession.tls.handshakes</c> (so failed handshakes count too) and prints one line when disposed:
/// <c>resumption: 12 handshakes, 10 resumed (83.3%); not resumed: not_offered 1, ticket_not_decrypted 1</c>.
/// It counts every server handshake of the process, which in the tool is exactly serve's. Created once serve listens
/// (a serve that never listened prints no summary) and before the first connection; the instruments appear (to it and
/// to <c>dotnet-counters</c>) with the first handshake. <c>more</c> adds lines printed with it (the server store's
/// counters), so that they too survive Ctrl+C.
/// </summary>
internal sealed class ServeResumptionSummary : IDisposable
{
    private readonly TextWriter _output;
    private readonly MeterListener _listener = new();
    private readonly ResumptionReasons _reasons = new();
    private readonly Func<string>? _more;
    private readonly PosixSignalRegistration[] _signals;
    private int _disposed;

    public ServeResumptionSummary(TextWriter output, Func<string>? more = null)
    {
        _output = output;
        _more = more;
        _listener.InstrumentPublished = static (instrument, listener) =>
        {
            if (instrument.Meter.Name == FastSessionTelemetry.MeterName && instrument.Name == FastSessionTelemetry.Handshakes)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnHandshake);
        _listener.Start();
        // SIGINT / SIGTERM (Ctrl+C, a service manager, `kill`) may end the process without unwinding serve's loop:
        // print then too. The handlers do not cancel the signal, so the process still ends as before.
        _signals = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    public void Dispose()
    {
        if (System.Threading.Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        foreach (PosixSignalRegistration signal in _signals)
        {
            signal.Dispose();
        }
        _listener.Dispose();
        _output.WriteLine($"resumption: {_reasons.Describe()}");
        if (_more is not null)
        {
            _output.WriteLine(_more());
        }
        _output.Flush();
    }

    private void OnProcessExit(object? sender, EventArgs e) => Dispose();

    private void OnSignal(PosixSignalContext context) => Dispose();

    private void OnHandshake(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        bool server = false;
        string? outcome = null;
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            if (tag.Key == FastSessionTelemetry.SideTag)
            {
                server = tag.Value as string == "server";
            }
            else if (tag.Key == FastSessionTelemetry.ResumptionOutcomeTag)
            {
                outcome = tag.Value as string;
            }
        }
        if (server && outcome is not null && TryParse(outcome, out SslResumptionOutcome parsed))
        {
            for (long i = 0; i < value; i++)
            {
                _reasons.Add(parsed);
            }
        }
    }

    private static bool TryParse(string tag, out SslResumptionOutcome outcome)
    {
        foreach (SslResumptionOutcome candidate in Enum.GetValues<SslResumptionOutcome>())
        {
            if (candidate.ToTagValue() == tag)
            {
                outcome = candidate;
                return true;
            }
        }
        outcome = default;
        return false;
    }
}
