using System;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Misuse;

/// <summary>
/// A context is shared by every thread that creates connections; disposing it while they still run must give
/// ObjectDisposedException to late callers and never free the SSL_CTX under a call in flight.
/// </summary>
public sealed class ContextDisposeRaceTests : LiveObjectTest
{
    [Fact]
    public async Task DisposeWhileOtherThreadsCreateConnections_OnlyEverThrowsObjectDisposed()
    {
        for (int round = 0; round < 20; round++)
        {
            SslContext client = Tls.Client(TlsVersion.Tls13);
            using var start = new Barrier(3);
            int created = 0, refused = 0;
            Task[] workers = new Task[2];
            for (int w = 0; w < workers.Length; w++)
            {
                workers[w] = Task.Run(() =>
                {
                    start.SignalAndWait();
                    for (int i = 0; i < 200; i++)
                    {
                        try
                        {
                            client.CreateConnection("localhost").Dispose();
                            _ = client.CachedSessionCount;
                            Interlocked.Increment(ref created);
                        }
                        catch (ObjectDisposedException)
                        {
                            Interlocked.Increment(ref refused);
                        }
                    }
                });
            }
            start.SignalAndWait();
            Thread.SpinWait(200 * round);
            client.Dispose();
            await Task.WhenAll(workers);

            Assert.Equal(400, created + refused);
            Assert.True(client.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => client.CreateConnection("localhost"));
        }
    }
}
