using System;

namespace FastSession.Interop;

// Declared for the FastSession generator (generators/FastSession.Generators/README.md), which writes the
// blittable DllImports and the wrapper bodies (leases, pins, UTF-8). Trivial = true only where the export
// takes no lock, runs no callback and never blocks (then the call skips the GC transition).

/// <summary>The OpenSSL error queue (ERR_*).</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class ErrorNative
{
    [ShimImport("FastSessionNative_ErrGetError", Trivial = true)]
    internal static partial ulong ErrGetError();

    // ERR_error_string_n may load the string tables under a lock: not trivial.
    [ShimImport("FastSessionNative_ErrErrorStringN")]
    internal static partial int ErrErrorStringN(ulong error, Span<byte> buffer, int capacity);

    [ShimImport("FastSessionNative_ErrClearError")]
    internal static partial void ErrClearError();
}
