using System;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Found by <see cref="PublicApiRaceTests"/>: <see cref="SslMemoryPipe.Send"/> on connections whose handshake is not
/// complete (never started, or reset by another thread meanwhile) looped forever — the write made no progress and the
/// loop tried again. It must end with the documented <see cref="InvalidOperationException"/>.
/// </summary>
public sealed class MemoryPipeProgressTests : LiveObjectTest
{
    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public async Task Send_BeforeTheHandshake_ThrowsInsteadOfLoopingForever(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        var pipe = new SslMemoryPipe();
        byte[] received = new byte[1024];

        Task<int> send = Task.Run(() => pipe.Send(c, s, "hello"u8.ToArray(), received));
        Task finished = await Task.WhenAny(send, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(ReferenceEquals(finished, send), "SslMemoryPipe.Send is still looping after 10 s");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => send);
        Assert.Contains("Handshake", e.Message, StringComparison.Ordinal);
    }
}
