using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using static FastSession.FastSessionTelemetry;

namespace FastSession;

/// <summary>
/// The server session store's instruments on the one <c>FastSession</c> meter (<see cref="FastSessionMetrics.Meter"/>),
/// recorded beside each context's <see cref="SslServerSessionCacheCounters"/>. Like the others: nothing is built or
/// allocated while nobody listens.
/// </summary>
internal static class ServerStoreMetrics
{
    private static readonly Counter<long> s_lookups = FastSessionMetrics.Meter.CreateCounter<long>(
        ServerStoreLookups, "{lookup}", "Server handshakes that paused to look their offered session up in the server session store.");
    private static readonly Counter<long> s_hits = FastSessionMetrics.Meter.CreateCounter<long>(
        ServerStoreHits, "{session}", "Server store lookups that handed OpenSSL the session asked for.");
    private static readonly Counter<long> s_misses = FastSessionMetrics.Meter.CreateCounter<long>(
        ServerStoreMisses, "{lookup}", "Server store lookups that went on as full handshakes (nothing stored, error, timeout, garbage).");
    private static readonly Counter<long> s_errors = FastSessionMetrics.Meter.CreateCounter<long>(
        ServerStoreErrors, "{call}", "Server store calls that threw or outlasted the lookup timeout.");
    private static readonly Counter<long> s_garbage = FastSessionMetrics.Meter.CreateCounter<long>(
        ServerStoreGarbage, "{session}", "Server store answers that were no session of their key.");
    private static readonly Counter<long> s_stored = FastSessionMetrics.Meter.CreateCounter<long>(
        ServerStoreStored, "{session}", "New server sessions the store accepted.");
    private static readonly Histogram<double> s_lookupDuration = FastSessionMetrics.Meter.CreateHistogram(
        ServerStoreLookupDuration, "s", "How long paused server handshakes waited for the server session store's answer.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
    private static readonly Counter<long> s_removals = FastSessionMetrics.Meter.CreateCounter<long>(
        ServerStoreRemovals, "{session}", "Sessions removed from the server store because their connection ended uncleanly or with a fatal error (S8).");

    /// <summary>Creates the instruments (listeners such as dotnet-counters see them from then on).</summary>
    internal static void EnsureCreated()
    {
    }

    internal static void Lookup() => s_lookups.Add(1);

    internal static void Hit() => s_hits.Add(1);

    /// <summary>Whether anyone listens to the lookup duration (the caller then takes a timestamp).</summary>
    internal static bool TimingLookups => s_lookupDuration.Enabled;

    internal static void LookupWaited(long startTimestamp) => s_lookupDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    internal static void Miss() => s_misses.Add(1);

    internal static void Garbage() => s_garbage.Add(1);

    internal static void Stored() => s_stored.Add(1);

    internal static void Error(string operation, string errorType)
    {
        if (s_errors.Enabled)
        {
            s_errors.Add(1, new KeyValuePair<string, object?>(ServerStoreOperationTag, operation), new KeyValuePair<string, object?>(ErrorTypeTag, errorType));
        }
    }

    internal static void Removed(bool fatalError)
    {
        if (s_removals.Enabled)
        {
            s_removals.Add(1, new KeyValuePair<string, object?>(InvalidationReasonTag, fatalError ? "fatal_error" : "unclean_close"));
        }
    }
}
