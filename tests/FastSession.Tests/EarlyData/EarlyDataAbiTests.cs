using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastSession.Interop;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.EarlyData;

/// <summary>fs_early_data_info as the shim (early_data.c's _Static_assert) and the managed mirror see it.</summary>
public sealed class EarlyDataAbiTests : LiveObjectTest
{
    [Fact]
    public void EarlyDataInfo_HasTheSameLayout_NativelyAndManaged()
    {
        Assert.Equal(EarlyDataNative.InfoSize, EarlyDataNative.GetEarlyDataInfoSize());
        Assert.Equal(EarlyDataNative.InfoSize, Unsafe.SizeOf<FsEarlyDataInfo>());
        Assert.Equal(36, (int)Marshal.OffsetOf<FsEarlyDataInfo>(nameof(FsEarlyDataInfo.MaxEarlyData)));
        Assert.Equal(40, (int)Marshal.OffsetOf<FsEarlyDataInfo>(nameof(FsEarlyDataInfo.IdentityHash)));
    }

    [Fact]
    public void FreshConnections_ReportNothingSent_AndNoReason()
    {
        using SslContext server = SslContext.CreateServer(new SslServerOptions { DangerousEnableReplayableEarlyData = true });
        using SslContext client = SslContext.CreateClient(new SslClientOptions { TrustedCertificatesPem = server.GetCertificatePem(), DangerousEnableReplayableEarlyData = true });
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        Assert.Equal(SslEarlyDataStatus.NotSent, c.EarlyDataStatus);
        Assert.Equal(SslEarlyDataReason.NotOffered, c.EarlyDataReason);
        Assert.Equal(0, c.MaxEarlyDataToSend);
        Assert.False(s.IsEarlyDataDecisionPending);
        Assert.Equal(16384, server.MaxEarlyData);
        Assert.Throws<System.InvalidOperationException>(() => s.DecideEarlyData(true));
        Assert.Throws<System.ArgumentException>(() => s.ReadEarlyData(default, default, new byte[64]));
        Assert.Throws<System.InvalidOperationException>(() => c.ReadEarlyData(default, new byte[64], new byte[64]));
    }
}
