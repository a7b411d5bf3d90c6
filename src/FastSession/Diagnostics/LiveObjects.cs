using FastSession.Interop;

namespace FastSession;

/// <summary>
/// Live OpenSSL objects in this process (created minus freed), counted by the shim through ex_data
/// callbacks, so OpenSSL's internal copies count too. For leak tests and metrics.
/// </summary>
public readonly record struct LiveObjectCounts(long Contexts, long Connections, long Sessions, long Certificates)
{
    /// <summary>Reads the shim's counters (<c>FastSessionNative_GetLiveCounts</c>).</summary>
    public static LiveObjectCounts Current
    {
        get
        {
            ShimLayout.EnsureVerified();
            ShimNative.GetLiveCounts(out FsLiveCounts counts);
            return new LiveObjectCounts(counts.Contexts, counts.Connections, counts.Sessions, counts.Certificates);
        }
    }
}
