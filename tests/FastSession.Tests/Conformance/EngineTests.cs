using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Conformance;

/// <summary>The batched engine: one call per flight reports everything, and loses no plaintext.</summary>
public sealed class EngineTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void DataFollowedByCloseNotifyInOneInput_IsReadTogetherWithTheClose(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        byte[] wire = new byte[4096];
        int length = s.Write("hello"u8, wire).OutputBytes;
        length += s.Shutdown(wire.AsSpan(length)).OutputBytes;
        byte[] plaintext = new byte[64];

        SslIoResult r = c.Read(wire.AsSpan(0, length), plaintext, new byte[4096]);

        Assert.Equal(SslStatus.Closed, r.Status);
        Assert.Equal(5, r.PlaintextBytes);
        Assert.Equal("hello"u8.ToArray(), plaintext[..5]);
        Assert.True(c.ShutdownReceived);
    }

    [Fact]
    public void SmallOutputBuffer_LeavesPendingOutput_ThatDrainOutputDelivers()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");

        SslIoResult r = c.Handshake(default, new byte[10]);

        Assert.Equal(SslStatus.NeedsInput, r.Status);
        Assert.Equal(10, r.OutputBytes);
        Assert.True(r.PendingOutput > 0);
        Assert.Equal(r.PendingOutput, c.PendingOutput);
        byte[] rest = new byte[r.PendingOutput];
        Assert.Equal(rest.Length, c.DrainOutput(rest));
        Assert.Equal(0, c.PendingOutput);
    }

    [Fact]
    public void LargeMessage_CrossesInManyRecords()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        byte[] message = new byte[100_000];
        new Random(7).NextBytes(message);
        byte[] received = new byte[message.Length];

        Assert.Equal(message.Length, _pipe.Send(c, s, message, received));
        Assert.Equal(message, received);
        _pipe.Shutdown(c, s);
    }
}
