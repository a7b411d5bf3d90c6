namespace FastSession.Interop;

// Declared for the FastSession generator (generators/FastSession.Generators/README.md), which writes the
// blittable DllImports and the wrapper bodies (leases, pins, UTF-8). Trivial = true only where the export
// takes no lock, runs no callback and never blocks (then the call skips the GC transition).

/// <summary>The shim's own accounting (live-object counts) and the layout checks of mirrored structs.</summary>
[ShimLibrary("fastsession_shim")]
internal static partial class ShimNative
{
    [ShimImport("FastSessionNative_GetLiveCounts", Trivial = true)]
    internal static partial void GetLiveCounts(out FsLiveCounts counts);

    [ShimImport("FastSessionNative_GetStructSize", Trivial = true)]
    internal static partial int GetStructSize(int which);
}
