using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastSession.Interop;
using Xunit;

namespace FastSession.Tests.Conformance;

/// <summary>
/// The managed mirrors of the shim's structs have the sizes and offsets that native-shim/src/abi_checks.c
/// pins with _Static_assert, and that the loaded library reports.
/// </summary>
public sealed class ShimAbiTests
{
    [Theory]
    [InlineData(ShimConstants.StructCtxOptions, 40)]
    [InlineData(ShimConstants.StructIoResult, 40)]
    [InlineData(ShimConstants.StructSessionInfo, 672)]
    [InlineData(ShimConstants.StructLiveCounts, 32)]
    public void MirroredStruct_HasTheNativeSize(int which, int size)
    {
        int managed = which switch
        {
            ShimConstants.StructCtxOptions => Unsafe.SizeOf<FsCtxOptions>(),
            ShimConstants.StructIoResult => Unsafe.SizeOf<FsIoResult>(),
            ShimConstants.StructSessionInfo => Unsafe.SizeOf<SslSessionInfo>(),
            _ => Unsafe.SizeOf<FsLiveCounts>(),
        };

        Assert.Equal(size, managed);
        Assert.Equal(size, ShimNative.GetStructSize(which));
    }

    [Theory]
    [InlineData("_idLength", 32)]
    [InlineData("_protocolVersion", 36)]
    [InlineData("_time", 48)]
    [InlineData("_ticketLifetimeHint", 64)]
    [InlineData("_contextId", 88)]
    [InlineData("_cipherName", 96)]
    [InlineData("_sni", 160)]
    [InlineData("_alpn", 416)]
    public void SessionInfoField_IsAtTheNativeOffset(string field, int offset)
        => Assert.Equal(offset, (int)Marshal.OffsetOf<SslSessionInfo>(field));

    [Theory]
    [InlineData(nameof(FsIoResult.ErrorCode), 32)]
    [InlineData(nameof(FsIoResult.HandshakeDone), 28)]
    public void IoResultField_IsAtTheNativeOffset(string field, int offset)
        => Assert.Equal(offset, (int)Marshal.OffsetOf<FsIoResult>(field));

    [Fact]
    public void UnknownStruct_IsReportedAsMinusOne() => Assert.Equal(-1, ShimNative.GetStructSize(99));
}
