using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Misuse;

/// <summary>Issue #10 item 9: consistent exceptions for out-of-range arguments and disposed contexts.</summary>
public sealed class SessionArgumentTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Fact]
    public void SetTimeBefore1970_OrNegativeTimeout_ThrowsArgumentOutOfRange()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        DateTimeOffset time = session.Info.Time;

        Assert.Throws<ArgumentOutOfRangeException>(() => session.SetTime(DateTimeOffset.UnixEpoch.AddSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.SetTimeout(TimeSpan.FromSeconds(-1)));
        Assert.Equal(time, session.Info.Time); // nothing changed
        session.SetTime(DateTimeOffset.UnixEpoch);
        session.SetTimeout(TimeSpan.Zero);
    }

    [Fact]
    public void RebindToFromDerFromPem_WithADisposedContext_ThrowObjectDisposed()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        SslContext gone = Tls.Client(TlsVersion.Tls13);
        gone.Dispose();

        Assert.Throws<ObjectDisposedException>(() => session.RebindTo(gone));
        Assert.Throws<ObjectDisposedException>(() => SslSession.FromDer(session.ToDer(), gone));
        Assert.Throws<ObjectDisposedException>(() => SslSession.FromPem(session.ToPem(), gone));
    }
}
