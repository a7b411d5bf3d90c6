using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace FastSession.Interop;

/// <summary>
/// Checks once per process that the loaded shim agrees with the managed mirrors of its structs,
/// so a stale libfastsession_shim.so fails with a message instead of corrupting memory.
/// </summary>
internal static class ShimLayout
{
    private static int s_verified;

    internal static void EnsureVerified()
    {
        if (Volatile.Read(ref s_verified) != 0)
        {
            return;
        }
        Verify();
        Volatile.Write(ref s_verified, 1);
    }

    private static void Verify()
    {
        try
        {
            Expect(ShimConstants.StructCtxOptions, Unsafe.SizeOf<FsCtxOptions>(), "fs_ctx_options");
            Expect(ShimConstants.StructIoResult, Unsafe.SizeOf<FsIoResult>(), "fs_io_result");
            Expect(ShimConstants.StructSessionInfo, Unsafe.SizeOf<SslSessionInfo>(), "fs_session_info");
            Expect(ShimConstants.StructLiveCounts, Unsafe.SizeOf<FsLiveCounts>(), "fs_live_counts");
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException(
                "FastSession could not load its native shim (libfastsession_shim.so) or OpenSSL 3 (libssl.so.3). " +
                "Build the solution with `dotnet build` (it builds the shim), and install OpenSSL 3 (Debian: libssl3). " + e.Message, e);
        }
    }

    private static void Expect(int which, int managedSize, string name)
    {
        int nativeSize = ShimNative.GetStructSize(which);
        if (nativeSize != managedSize)
        {
            throw new InvalidOperationException(
                $"libfastsession_shim.so does not match this FastSession build: {name} is {nativeSize} bytes natively and {managedSize} in managed code. Rebuild the solution.");
        }
    }
}
