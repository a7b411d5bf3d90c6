using System;
using System.Collections.Generic;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Reliability;

/// <summary>
/// A session file is untrusted input: its time and timeout are any 64-bit integers OpenSSL accepts
/// (<c>d2i_SSL_SESSION</c> takes them as they are). Importing one must not make the info accessors or the client
/// session cache throw: times outside <see cref="DateTimeOffset"/>'s range saturate, and the cache treats such a
/// session by its (saturated) expiry instead of failing.
/// </summary>
public sealed class ExtremeSessionFieldsTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    public static IEnumerable<object[]> Extremes() => new[]
    {
        new object[] { long.MaxValue, 7200L },
        new object[] { 1L << 40, 7200L },
        new object[] { -(1L << 40), 7200L },
        new object[] { long.MinValue, 7200L },
        new object[] { 1_700_000_000L, long.MaxValue },
        new object[] { 1_700_000_000L, 1L << 40 },
        new object[] { 1_700_000_000L, -(1L << 40) },
        new object[] { long.MaxValue, long.MaxValue },
    };

    [Theory]
    [MemberData(nameof(Extremes))]
    public void ImportedSessionWithExtremeTimes_InfoAndCacheDoNotThrow(long time, long timeout)
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslSession original = Tls.ConnectAndCaptureLast(client, server, _pipe);
        byte[] der = WithTimes(original.ToDer(), time, timeout);

        using SslSession imported = SslSession.FromDer(der, client);
        SslSessionInfo info = imported.Info;
        _ = info.Time;
        _ = info.Timeout;
        DateTimeOffset expires = info.ExpiresAt;
        Assert.True(expires >= info.Time || timeout < 0);

        using var cache = new SslClientSessionCache();
        var key = new SslSessionCacheKey("localhost", 443);
        cache.Add(key, imported.RebindTo(client)); // kept or rejected as expired, never an exception
        if (cache.TryTake(key, out SslSession taken))
        {
            taken.Dispose();
        }
        _ = imported.ToText();
    }

    /// <summary>Replaces the [1] time and [2] timeout fields of an SSL_SESSION DER with 8-byte INTEGERs.</summary>
    internal static byte[] WithTimes(byte[] der, long time, long timeout)
    {
        var children = new List<byte[]>();
        int p = ReadHeader(der, 0, out int seqLength);
        int end = p + seqLength;
        while (p < end)
        {
            int start = p;
            byte tag = der[p];
            int content = ReadHeader(der, p, out int length);
            p = content + length;
            byte[] element = der[start..p];
            if (tag == 0xA1)
            {
                element = Explicit(0xA1, Integer(time));
            }
            else if (tag == 0xA2)
            {
                element = Explicit(0xA2, Integer(timeout));
            }
            children.Add(element);
        }
        var body = new List<byte>();
        children.ForEach(body.AddRange);
        return Tlv(0x30, body.ToArray());
    }

    private static int ReadHeader(byte[] der, int at, out int length)
    {
        int p = at + 1;
        if (der[p] < 0x80)
        {
            length = der[p];
            return p + 1;
        }
        int n = der[p] & 0x7F;
        length = 0;
        for (int i = 1; i <= n; i++)
        {
            length = (length << 8) | der[p + i];
        }
        return p + 1 + n;
    }

    private static byte[] Integer(long value)
    {
        byte[] bytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        // Minimal two's complement encoding.
        int skip = 0;
        while (skip < 7 && ((bytes[skip] == 0x00 && bytes[skip + 1] < 0x80) || (bytes[skip] == 0xFF && bytes[skip + 1] >= 0x80)))
        {
            skip++;
        }
        return Tlv(0x02, bytes[skip..]);
    }

    private static byte[] Explicit(byte tag, byte[] inner) => Tlv(tag, inner);

    private static byte[] Tlv(byte tag, byte[] content)
    {
        var result = new List<byte> { tag };
        if (content.Length < 0x80)
        {
            result.Add((byte)content.Length);
        }
        else if (content.Length < 0x100)
        {
            result.Add(0x81);
            result.Add((byte)content.Length);
        }
        else
        {
            result.Add(0x82);
            result.Add((byte)(content.Length >> 8));
            result.Add((byte)content.Length);
        }
        result.AddRange(content);
        return result.ToArray();
    }
}
