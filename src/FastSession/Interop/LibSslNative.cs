namespace FastSession.Interop;

// Declared for the FastSession generator (generators/FastSession.Generators/README.md), like the shim's imports,
// but bound to libssl itself: only real exported functions of OpenSSL 3 (not macros, FSG0017) whose shim export
// would add nothing but a call level and a NULL check the generated lease already makes impossible (a view or
// owned handle never reaches the call empty). Chosen by measurement (bench/RESULTS.md, "Generator fast paths,
// issue 13"): the hot borrowed-view accessor. Everything that can fail, locks or needs the error queue cleared
// stays in the shim.

/// <summary>libssl functions called directly on the hot path (no shim level).</summary>
[ShimLibrary("libssl.so.3")]
internal static partial class LibSslNative
{
    /// <summary>SSL_SESSION_is_resumable: reads one field; no lock, no error queue.</summary>
    [ShimImport("SSL_SESSION_is_resumable", Trivial = true)]
    internal static partial int SslSessionIsResumable(SslSession session);

    /// <summary>SSL_SESSION_is_resumable through a borrowed view (one extern shared with the owned handle's).</summary>
    [ShimImport("SSL_SESSION_is_resumable", Trivial = true)]
    internal static partial int SslSessionIsResumable(SslSessionRef session);
}
