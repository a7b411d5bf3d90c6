using System;
using System.IO;
using System.Linq;
using System.Text;
using FastSession.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Proves which shim the test process really loaded. Under tools/sanitize-managed-tests.sh
/// (FASTSESSION_EXPECT_SANITIZED_SHIM=1) it fails unless the mapped libfastsession_shim.so is the ASan/UBSan
/// build and the ASan runtime is mapped too, so a sanitizer run cannot silently test the plain library.
/// In a normal run it only reports the path.
/// </summary>
public sealed class SanitizerEnvironmentTests : LiveObjectTest
{
    private readonly ITestOutputHelper _output;

    public SanitizerEnvironmentTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void LoadedShim_IsTheSanitizedBuild_WhenTheSanitizerRunAsksForIt()
    {
        // Any shim call loads the library.
        _ = LiveObjectCounts.Current;

        string[] maps = File.ReadAllLines("/proc/self/maps");
        string[] shimPaths = maps.Select(PathOf).Where(p => p.EndsWith("/libfastsession_shim.so", StringComparison.Ordinal)).Distinct().ToArray();
        string[] asanPaths = maps.Select(PathOf).Where(p => p.Contains("/libasan.so", StringComparison.Ordinal)).Distinct().ToArray();
        _output.WriteLine($"shim mapped from: {string.Join(", ", shimPaths)}");
        _output.WriteLine($"ASan runtime mapped: {(asanPaths.Length == 0 ? "no" : string.Join(", ", asanPaths))}");

        Assert.Single(shimPaths);
        bool instrumented = ContainsAscii(File.ReadAllBytes(shimPaths[0]), "__asan_init");
        _output.WriteLine($"shim instrumented with ASan: {instrumented}");

        if (Environment.GetEnvironmentVariable("FASTSESSION_EXPECT_SANITIZED_SHIM") == "1")
        {
            Assert.True(instrumented, $"{shimPaths[0]} is not the ASan/UBSan build of the shim");
            Assert.NotEmpty(asanPaths);
            string? expected = Environment.GetEnvironmentVariable("FASTSESSION_EXPECTED_SHIM_DIR");
            if (!string.IsNullOrEmpty(expected))
            {
                Assert.StartsWith(Path.GetFullPath(expected), shimPaths[0], StringComparison.Ordinal);
            }
        }
    }

    /// <summary>
    /// The sanitizer run's negative control (FASTSESSION_SANITIZER_SELF_CHECK=1 only; the script runs it alone and
    /// expects the host to die with an ASan report): the shim is handed a 16-byte malloc'd buffer that claims to
    /// hold 128, so <c>FastSessionNative_ErrErrorStringN</c> overruns it. Proves a shim memory error in the test
    /// host is caught and reported, not silently absorbed.
    /// </summary>
    [Fact]
    public unsafe void SelfCheck_AShimHeapOverflow_IsReported_WhenAsked()
    {
        if (Environment.GetEnvironmentVariable("FASTSESSION_SANITIZER_SELF_CHECK") != "1")
        {
            return;
        }
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        ulong code = Assert.Throws<SslSessionFormatException>(() => SslSession.FromDer(new byte[] { 0x30, 0x82, 0xff, 0xff }, client)).OpenSslError;
        Assert.NotEqual(0UL, code);
        nint buffer = System.Runtime.InteropServices.Marshal.AllocHGlobal(16);
        try
        {
            int length = FastSession.Interop.ErrorNative.ErrErrorStringN(code, new Span<byte>((byte*)buffer, 16), 128); // capacity lies on purpose
            _output.WriteLine($"no sanitizer stopped a {length}-byte write into a 16-byte buffer");
        }
        finally
        {
            System.Runtime.InteropServices.Marshal.FreeHGlobal(buffer);
        }
    }

    private static string PathOf(string mapsLine)
    {
        int slash = mapsLine.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? string.Empty : mapsLine[slash..];
    }

    private static bool ContainsAscii(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.ASCII.GetBytes(needle)) >= 0;
}
