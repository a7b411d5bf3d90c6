using System;
using System.IO;
using System.Runtime.CompilerServices;
using FastSession.Interop;
using FastSession.Redis.Tests.Infrastructure;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Redis.Tests;

/// <summary>The ticket-key ring in one process: contexts sharing keys stand for processes of a fleet.</summary>
public sealed class TicketKeyTests : LiveObjectTest
{
    private readonly long _ringsBefore = TicketKeyRing.LiveCount;

    public override void Dispose()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(_ringsBefore, TicketKeyRing.LiveCount);
        base.Dispose();
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void SharedRing_TicketFromOneContext_ResumesOnAnother(TlsVersion version)
    {
        using var ring = new TicketKeyRing();
        using (TicketKey key = TicketKey.Generate())
        {
            ring.Install([key]);
        }
        using SslContext a = Pairs.Server(version, ring);
        using SslContext b = Pairs.Server(version, ring);
        using SslContext client = Pairs.Client(version);
        (bool reused, SslSession first) = Pairs.Connect(client, a);
        Assert.False(reused);
        using (first)
        {
            (reused, SslSession second) = Pairs.Connect(client, b, first);
            Assert.True(reused);
            using (second)
            {
                // TLS 1.3: a fresh single-use ticket after each resumption keeps the chain going.
                (reused, SslSession third) = Pairs.Connect(client, a, second);
                third.Dispose();
                Assert.True(reused);
            }
        }
        TicketKeyCounts counts = ring.Counts;
        Assert.True(counts.Issued >= (version == TlsVersion.Tls13 ? 3 : 1), counts.ToString()); // TLS 1.3: two after the full handshake, one per resumption
        Assert.Equal(2, counts.Resumed);
        Assert.Equal(0, counts.Renewed);
    }

    [Fact]
    public void WithoutSharedKeys_TicketFromOneContext_IsRefusedByAnother()
    {
        using SslContext a = Pairs.Server(TlsVersion.Tls12);
        using SslContext b = Pairs.Server(TlsVersion.Tls12);
        using SslContext client = Pairs.Client(TlsVersion.Tls12);
        (_, SslSession first) = Pairs.Connect(client, a);
        using (first)
        {
            (bool reused, SslSession second) = Pairs.Connect(client, b, first);
            second.Dispose();
            Assert.False(reused);
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void Rotation_OldKeyTicket_IsAcceptedAndRenewedUnderTheNewKey(TlsVersion version)
    {
        using var ring = new TicketKeyRing();
        using TicketKey oldKey = TicketKey.Generate();
        using TicketKey newKey = TicketKey.Generate();
        ring.Install([oldKey]);
        using SslContext server = Pairs.Server(version, ring);
        using SslContext client = Pairs.Client(version);
        (_, SslSession underOld) = Pairs.Connect(client, server);
        using (underOld)
        {
            ring.Install([newKey, oldKey]); // rotation without restart
            Assert.Equal(newKey.NameHex, ring.EncryptingKeyName);
            (bool reused, SslSession renewed) = Pairs.Connect(client, server, underOld);
            using (renewed)
            {
                Assert.True(reused);
                Assert.Equal(1, ring.Counts.Renewed);

                using var onlyNew = new TicketKeyRing();
                onlyNew.Install([newKey]);
                using SslContext other = Pairs.Server(version, onlyNew);
                (reused, SslSession again) = Pairs.Connect(client, other, renewed);
                again.Dispose();
                Assert.True(reused);
            }
        }
    }

    [Fact]
    public void ExpiredKey_NeitherDecryptsNorEncrypts()
    {
        using var ring = new TicketKeyRing();
        using TicketKey key = TicketKey.Generate();
        ring.Install([key]);
        using SslContext server = Pairs.Server(TlsVersion.Tls13, ring);
        using SslContext client = Pairs.Client(TlsVersion.Tls13);
        (_, SslSession session) = Pairs.Connect(client, server);
        using (session)
        using (TicketKey expired = key.WithNotAfter(DateTimeOffset.UtcNow.AddSeconds(-1)))
        {
            ring.Install([expired]);
            long issued = ring.Counts.Issued;
            (bool reused, SslSession next) = Pairs.Connect(client, server, session);
            next.Dispose();
            Assert.False(reused);
            Assert.Equal(issued, ring.Counts.Issued);
            Assert.True(ring.Counts.Failed >= 1);
        }
    }

    [Fact]
    public void NginxFormats_RoundTrip_AndWrongSizesAreRefused()
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastsession-keys-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            byte[] k80 = new byte[80];
            byte[] k48 = new byte[48];
            for (int i = 0; i < 80; i++)
            {
                k80[i] = (byte)i;
            }
            for (int i = 0; i < 48; i++)
            {
                k48[i] = (byte)(200 - i);
            }
            File.WriteAllBytes(Path.Combine(dir, "80.key"), k80);
            File.WriteAllBytes(Path.Combine(dir, "48.key"), k48);
            File.WriteAllBytes(Path.Combine(dir, "bad.key"), new byte[64]);
            using TicketKey a = TicketKey.ReadFile(Path.Combine(dir, "80.key"));
            using TicketKey b = TicketKey.ReadFile(Path.Combine(dir, "48.key"));
            Assert.Equal(80, a.Size);
            Assert.Equal(48, b.Size);
            Span<byte> back = stackalloc byte[80];
            Assert.Equal(80, a.CopyTo(back));
            Assert.True(back.SequenceEqual(k80));
            Assert.Equal(48, b.CopyTo(back));
            Assert.True(back[..48].SequenceEqual(k48));
            Assert.Equal(Convert.ToHexStringLower(k80.AsSpan(0, 16)), a.NameHex);
            Assert.DoesNotContain(Convert.ToHexStringLower(k80.AsSpan(16, 16)), a.ToString(), StringComparison.Ordinal);
            Assert.Throws<InvalidDataException>(() => TicketKey.ReadFile(Path.Combine(dir, "bad.key")));
            Assert.Throws<FileNotFoundException>(() => TicketKey.ReadFile(Path.Combine(dir, "missing.key")));
            Assert.Throws<ArgumentException>(() => TicketKey.FromBytes(new byte[79]));

            // Both formats work in one ring, the 48-byte one (AES-128) encrypting.
            using TicketKeyRing ring = TicketKeyRing.FromFiles(Path.Combine(dir, "48.key"), Path.Combine(dir, "80.key"));
            Assert.Equal(b.NameHex, ring.EncryptingKeyName);
            using SslContext s1 = Pairs.Server(TlsVersion.Tls12, ring);
            using SslContext s2 = Pairs.Server(TlsVersion.Tls12, ring);
            using SslContext client = Pairs.Client(TlsVersion.Tls12);
            (_, SslSession first) = Pairs.Connect(client, s1);
            using (first)
            {
                (bool reused, SslSession second) = Pairs.Connect(client, s2, first);
                second.Dispose();
                Assert.True(reused);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Misuse_EndsInDocumentedExceptions()
    {
        using var ring = new TicketKeyRing();
        Assert.Throws<ArgumentException>(() => ring.Install([]));
        using TicketKey key = TicketKey.Generate();
        Assert.Throws<ArgumentException>(() => ring.Install([key, key]));
        using SslContext client = Pairs.Client(TlsVersion.Tls13);
        Assert.Throws<InvalidOperationException>(() => client.UseTicketKeys(ring));
        using SslContext server = Pairs.Server(TlsVersion.Tls13, ring);
        Assert.Throws<InvalidOperationException>(() => server.UseTicketKeys(ring));
        var disposedKey = TicketKey.Generate();
        disposedKey.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ring.Install([disposedKey]));
        Assert.Throws<ObjectDisposedException>(() => disposedKey.CopyTo(new byte[80]));
        var disposedRing = new TicketKeyRing();
        disposedRing.Dispose();
        disposedRing.Dispose();
        Assert.Throws<ObjectDisposedException>(() => disposedRing.Install([key]));
        Assert.Throws<ObjectDisposedException>(() => server.UseTicketKeys(disposedRing));
        Assert.Throws<ObjectDisposedException>(() => _ = disposedRing.Counts);
    }

    [Fact]
    public void ContextOutlivesItsRing_AndKeepsTheLastKeys()
    {
        SslContext a, b;
        using (var ring = new TicketKeyRing())
        using (TicketKey key = TicketKey.Generate())
        {
            ring.Install([key]);
            a = Pairs.Server(TlsVersion.Tls12, ring);
            b = Pairs.Server(TlsVersion.Tls12, ring);
        }
        using (a)
        using (b)
        using (SslContext client = Pairs.Client(TlsVersion.Tls12))
        {
            (_, SslSession first) = Pairs.Connect(client, a);
            using (first)
            {
                (bool reused, SslSession second) = Pairs.Connect(client, b, first);
                second.Dispose();
                Assert.True(reused);
            }
        }
    }

    [Fact]
    public void MirroredLayouts_MatchTheShim()
    {
        Assert.Equal(96, Unsafe.SizeOf<FsTicketKey>());
        Assert.Equal(32, Unsafe.SizeOf<FsTicketKeyCounts>());
        Assert.Equal(80, System.Runtime.InteropServices.Marshal.OffsetOf<FsTicketKey>(nameof(FsTicketKey.KeySize)).ToInt32());
        Assert.Equal(88, System.Runtime.InteropServices.Marshal.OffsetOf<FsTicketKey>(nameof(FsTicketKey.NotAfter)).ToInt32());
    }
}
