using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Review;

/// <summary>
/// Review finding (low): the allocation-free "handshake with Reset" loop holds only for Reset() without a server
/// name. Reset(serverName) — what a client reusing one SslConnection for different hosts (or re-sending SNI) calls —
/// allocates a new NUL-terminated byte[] (SslContext.NullTerminated) on every call.
/// </summary>
public sealed class ResetAllocationReviewTests : LiveObjectTest
{
    [Fact]
    public void ResetWithServerName_AllocatesNothing()
    {
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslConnection c = client.CreateConnection("localhost");
        c.Reset("localhost");

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            c.Reset("localhost");
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }
}
