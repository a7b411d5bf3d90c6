using System;
using System.Buffers;
using System.Text;

namespace FastSession.AspNetCore;

/// <summary>
/// Reads the SNI host name from a TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3) without consuming it, so the certificate (and
/// with it the SSL_CTX) can be chosen before OpenSSL sees the first byte.
/// </summary>
internal static class ClientHelloReader
{
    public enum Status { NeedMoreData, Done }

    // Returns Done with name null when the record is not a ClientHello or carries no SNI: OpenSSL then answers it as it is.
    public static Status TryGetServerName(ReadOnlySequence<byte> buffer, out string? name)
    {
        name = null;
        if (buffer.Length < 5)
        {
            return Status.NeedMoreData;
        }
        Span<byte> header = stackalloc byte[5];
        buffer.Slice(0, 5).CopyTo(header);
        if (header[0] != 22)
        {
            return Status.Done; // not a handshake record
        }
        int recordLength = (header[3] << 8) | header[4];
        if (buffer.Length < 5 + recordLength)
        {
            return Status.NeedMoreData;
        }
        byte[] rented = ArrayPool<byte>.Shared.Rent(recordLength);
        try
        {
            Span<byte> record = rented.AsSpan(0, recordLength);
            buffer.Slice(5, recordLength).CopyTo(record);
            name = Parse(record);
            return Status.Done;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static string? Parse(ReadOnlySpan<byte> hello)
    {
        // handshake type(1) length(3) version(2) random(32)
        if (hello.Length < 38 || hello[0] != 1)
        {
            return null;
        }
        int p = 38;
        if (!Skip(hello, ref p, 1))
        {
            return null; // session id
        }
        if (!Skip(hello, ref p, 2))
        {
            return null; // cipher suites
        }
        if (!Skip(hello, ref p, 1))
        {
            return null; // compression methods
        }
        if (p + 2 > hello.Length)
        {
            return null;
        }
        int end = Math.Min(hello.Length, p + 2 + ((hello[p] << 8) | hello[p + 1]));
        p += 2;
        while (p + 4 <= end)
        {
            int type = (hello[p] << 8) | hello[p + 1];
            int length = (hello[p + 2] << 8) | hello[p + 3];
            p += 4;
            if (p + length > end)
            {
                return null;
            }
            if (type == 0)
            {
                // server_name_list: length(2), then entries of type(1) length(2) name
                ReadOnlySpan<byte> list = hello.Slice(p, length);
                int q = 2;
                while (q + 3 <= list.Length)
                {
                    int nameLength = (list[q + 1] << 8) | list[q + 2];
                    if (q + 3 + nameLength > list.Length)
                    {
                        return null;
                    }
                    if (list[q] == 0)
                    {
                        return Encoding.ASCII.GetString(list.Slice(q + 3, nameLength));
                    }
                    q += 3 + nameLength;
                }
                return null;
            }
            p += length;
        }
        return null;
    }

    private static bool Skip(ReadOnlySpan<byte> data, ref int p, int lengthBytes)
    {
        if (p + lengthBytes > data.Length)
        {
            return false;
        }
        int length = lengthBytes == 1 ? data[p] : (data[p] << 8) | data[p + 1];
        p += lengthBytes + length;
        return p <= data.Length;
    }
}
