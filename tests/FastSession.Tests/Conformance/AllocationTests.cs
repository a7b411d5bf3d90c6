using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Conformance;

/// <summary>
/// Zero managed allocation on session access (S1, S2, S3 "no allocation"): borrowing a view and reading
/// its info, and acquiring and disposing an owned session, allocate nothing after warm-up.
/// Measured with GC.GetAllocatedBytesForCurrentThread — an exact counter, not a timing.
/// </summary>
public sealed class AllocationTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Fact]
    public void BorrowingAViewAndReadingItsInfo_AllocatesNothing()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        long sum = Borrow(c, 100);

        long before = GC.GetAllocatedBytesForCurrentThread();
        sum += Borrow(c, 10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(sum > 0);
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void AcquireAndDisposeOfAnOwnedSession_AllocatesNothing()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        _pipe.Handshake(c, s);
        long live = LiveObjectCounts.Current.Sessions;
        int resumable = AcquireDispose(c, 100);

        long before = GC.GetAllocatedBytesForCurrentThread();
        resumable += AcquireDispose(c, 10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(10_100, resumable);
        Assert.Equal(live, LiveObjectCounts.Current.Sessions);
        _pipe.Shutdown(c, s);
    }

    [Fact]
    public void TryBorrowWithNoSession_AllocatesNothing()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        c.TryBorrowSession(out _);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int found = 0;
        for (int i = 0; i < 1000; i++)
        {
            found += c.TryBorrowSession(out _) ? 1 : 0;
            found += c.TryAcquireSession(out _) ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(0, found);
    }

    [Fact]
    public void ResumedHandshakeWithResetReuse_AllocatesNothing()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        int reused = Resume(c, s, session, 20);

        long before = GC.GetAllocatedBytesForCurrentThread();
        reused += Resume(c, s, session, 200);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(220, reused);
        Assert.Equal(0, allocated);
    }

    private static long Borrow(SslConnection c, int count)
    {
        long sum = 0;
        for (int i = 0; i < count; i++)
        {
            if (c.TryBorrowSession(out SslSessionRef view))
            {
                view.GetInfo(out SslSessionInfo info);
                sum += info.CipherSuite + (view.IsResumable ? 1 : 0) + info.Id.Length;
            }
        }
        return sum;
    }

    private static int AcquireDispose(SslConnection c, int count)
    {
        int resumable = 0;
        for (int i = 0; i < count; i++)
        {
            if (c.TryAcquireSession(out SslSession session))
            {
                resumable += session.IsResumable ? 1 : 0;
                session.Dispose();
            }
        }
        return resumable;
    }

    private int Resume(SslConnection c, SslConnection s, SslSession session, int count)
    {
        int reused = 0;
        for (int i = 0; i < count; i++)
        {
            c.SetSession(session);
            _pipe.Handshake(c, s);
            reused += c.SessionReused ? 1 : 0;
            _pipe.Shutdown(c, s);
            while (c.TryTakeNewSession(out SslSession ticket))
            {
                ticket.Dispose();
            }
            c.Reset();
            s.Reset();
        }
        return reused;
    }
}
