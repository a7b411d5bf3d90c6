using System;
using System.Collections.Generic;
using System.Text;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Deterministic structure-aware mutations of DER-encoded sessions and their PEM text: bit flips,
/// interesting bytes, truncations, cut ranges, insertions, edits of DER length and tag bytes,
/// duplicated chunks and splices from another session. Every mutation is described in words so a
/// failure can be reproduced by hand.
/// </summary>
internal sealed class SessionMutator
{
    private static readonly byte[] InterestingBytes = { 0x00, 0x01, 0x02, 0x04, 0x05, 0x0C, 0x13, 0x16, 0x1F, 0x20, 0x30, 0x7E, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xA0, 0xA1, 0xFE, 0xFF };
    private const string Base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

    private readonly Random _random;

    public SessionMutator(int seed) => _random = new Random(seed);

    /// <summary>A source blob with the offsets of its DER tag and length bytes.</summary>
    public sealed record Source(string Name, byte[] Der, string Pem, int[] TagOffsets, (int Offset, int Count)[] LengthFields)
    {
        public static Source From(string name, byte[] der, string pem)
        {
            var tags = new List<int>();
            var lengths = new List<(int, int)>();
            WalkDer(der, 0, der.Length, tags, lengths, depth: 0);
            return new Source(name, der, pem, tags.ToArray(), lengths.ToArray());
        }
    }

    /// <summary>Mutates <paramref name="source"/>'s DER with one to three stacked operations.</summary>
    public byte[] MutateDer(Source source, IReadOnlyList<Source> donors, StringBuilder description)
    {
        byte[] blob = source.Der;
        if (_random.Next(20) == 0 && source.Der.Length > 0 && source.Der[0] == 0x30)
        {
            // Integer field edit: the session's [1] time and [2] timeout as extreme 64-bit values.
            long time = ExtremeInteger(), timeout = ExtremeInteger();
            description.Append($"time = {time}, timeout = {timeout}");
            blob = ExtremeSessionFieldsTests.WithTimes(blob, time, timeout);
            if (_random.Next(2) == 0)
            {
                return blob;
            }
        }
        int rounds = _random.Next(10) switch { < 6 => 1, < 9 => 2, _ => 3 };
        for (int i = 0; i < rounds; i++)
        {
            // Structure-aware edits use the source's offsets, which stay meaningful after the first
            // round only as long as the blob did not move: later rounds use them anyway (still valid indices).
            blob = MutateOnce(blob, source, donors, description);
        }
        return blob;
    }

    private long ExtremeInteger() => _random.Next(8) switch
    {
        0 => long.MaxValue,
        1 => long.MinValue,
        2 => 0,
        3 => -1,
        4 => 1L << _random.Next(31, 63),
        5 => -(1L << _random.Next(31, 63)),
        6 => 253402300799L + _random.Next(-2, 3),
        _ => _random.NextInt64(),
    };

    /// <summary>Mutates the PEM text: either the DER inside (re-wrapped) or the text itself.</summary>
    public string MutatePem(Source source, IReadOnlyList<Source> donors, StringBuilder description)
    {
        if (_random.Next(2) == 0)
        {
            description.Append("pem(der: ");
            byte[] der = MutateDer(source, donors, description);
            description.Append(')');
            return Wrap(der, _random.Next(4) == 0 ? 76 : 64);
        }

        string pem = source.Pem;
        string[] lines = pem.Split('\n');
        switch (_random.Next(9))
        {
            case 0:
            {
                // Flip characters of the base64 body.
                char[] chars = pem.ToCharArray();
                int bodyStart = pem.IndexOf('\n', StringComparison.Ordinal) + 1;
                int bodyEnd = Math.Max(bodyStart + 1, pem.LastIndexOf("-----END", StringComparison.Ordinal));
                int n = 1 + _random.Next(4);
                for (int i = 0; i < n; i++)
                {
                    int at = _random.Next(bodyStart, bodyEnd);
                    if (chars[at] != '\n')
                    {
                        chars[at] = Base64Chars[_random.Next(Base64Chars.Length)];
                    }
                }
                description.Append($"pem-text: {n} base64 char(s) replaced");
                return new string(chars);
            }
            case 1:
            {
                int drop = _random.Next(lines.Length);
                description.Append($"pem-text: line {drop} removed");
                var list = new List<string>(lines);
                list.RemoveAt(drop);
                return string.Join('\n', list);
            }
            case 2:
            {
                int dup = _random.Next(lines.Length);
                description.Append($"pem-text: line {dup} duplicated");
                var list = new List<string>(lines);
                list.Insert(dup, lines[dup]);
                return string.Join('\n', list);
            }
            case 3:
            {
                int cut = _random.Next(pem.Length);
                description.Append($"pem-text: truncated to {cut} chars");
                return pem[..cut];
            }
            case 4:
            {
                string[] labels = { "SSL SESSION PARAMETERS", "SSL SESSION", "CERTIFICATE", "ssl session parameters", "SSL SESSION PARAMETERS ", "" };
                string label = labels[_random.Next(labels.Length)];
                bool begin = _random.Next(2) == 0;
                description.Append($"pem-text: {(begin ? "BEGIN" : "END")} label \"{label}\"");
                return begin
                    ? pem.Replace("BEGIN SSL SESSION PARAMETERS", "BEGIN " + label, StringComparison.Ordinal)
                    : pem.Replace("END SSL SESSION PARAMETERS", "END " + label, StringComparison.Ordinal);
            }
            case 5:
            {
                string[] junk = { " ", "\t", "\r", "\0", "*", "-", "==", "\u00e9", "\uffff", "Proc-Type: 4,ENCRYPTED\n", "\n\n" };
                string insert = junk[_random.Next(junk.Length)];
                int at = _random.Next(pem.Length + 1);
                description.Append($"pem-text: inserted {Escape(insert)} at {at}");
                return pem.Insert(at, insert);
            }
            case 6:
            {
                // Another block first: the reader takes the first SSL SESSION PARAMETERS block.
                Source other = donors[_random.Next(donors.Count)];
                bool garbageFirst = _random.Next(2) == 0;
                description.Append(garbageFirst ? "pem-text: certificate-labelled block first" : $"pem-text: followed by {other.Name}");
                return garbageFirst
                    ? other.Pem.Replace("SSL SESSION PARAMETERS", "CERTIFICATE", StringComparison.Ordinal) + pem
                    : pem + other.Pem;
            }
            case 7:
            {
                // Raw bytes through Latin-1: arbitrary code units in the string.
                byte[] raw = Encoding.Latin1.GetBytes(pem);
                description.Append("pem-bytes: ");
                raw = MutateOnce(raw, Source.From("pem", raw, pem), donors, description);
                return Encoding.Latin1.GetString(raw);
            }
            default:
            {
                // Base64 body with its padding removed or a line re-flowed.
                description.Append("pem-text: padding stripped / lines joined");
                return _random.Next(2) == 0
                    ? pem.Replace("=", "", StringComparison.Ordinal)
                    : Wrap(source.Der, 0);
            }
        }
    }

    /// <summary>Wraps DER in an SSL SESSION PARAMETERS block with lines of <paramref name="width"/> (0 = one line).</summary>
    public static string Wrap(byte[] der, int width)
    {
        string body = Convert.ToBase64String(der);
        var text = new StringBuilder("-----BEGIN SSL SESSION PARAMETERS-----\n");
        if (width <= 0)
        {
            text.Append(body).Append('\n');
        }
        else
        {
            for (int i = 0; i < body.Length; i += width)
            {
                text.Append(body, i, Math.Min(width, body.Length - i)).Append('\n');
            }
        }
        return text.Append("-----END SSL SESSION PARAMETERS-----\n").ToString();
    }

    private byte[] MutateOnce(byte[] blob, Source source, IReadOnlyList<Source> donors, StringBuilder description)
    {
        if (description.Length > 0 && description[^1] != ' ')
        {
            description.Append("; ");
        }
        if (blob.Length == 0)
        {
            description.Append("insert into empty");
            return new[] { (byte)_random.Next(256) };
        }
        var list = new List<byte>(blob);
        switch (_random.Next(10))
        {
            case 0:
            case 1:
            {
                int n = 1 + _random.Next(4);
                description.Append($"flip {n} bit(s) at");
                for (int i = 0; i < n; i++)
                {
                    int at = _random.Next(list.Count);
                    int bit = _random.Next(8);
                    list[at] ^= (byte)(1 << bit);
                    description.Append($" {at}.{bit}");
                }
                return list.ToArray();
            }
            case 2:
            {
                int at = _random.Next(list.Count);
                byte value = InterestingBytes[_random.Next(InterestingBytes.Length)];
                description.Append($"byte {at} = 0x{value:x2}");
                list[at] = value;
                return list.ToArray();
            }
            case 3:
            {
                int keep = _random.Next(list.Count);
                description.Append($"truncate to {keep}");
                return list.GetRange(0, keep).ToArray();
            }
            case 4:
            {
                int at = _random.Next(list.Count);
                int n = Math.Min(list.Count - at, 1 + _random.Next(_random.Next(2) == 0 ? 4 : 64));
                description.Append($"remove {n} at {at}");
                list.RemoveRange(at, n);
                return list.ToArray();
            }
            case 5:
            {
                int at = _random.Next(list.Count + 1);
                int n = 1 + _random.Next(_random.Next(2) == 0 ? 4 : 40);
                byte[] insert = new byte[n];
                _random.NextBytes(insert);
                description.Append($"insert {n} random at {at}");
                list.InsertRange(at, insert);
                return list.ToArray();
            }
            case 6:
            case 7:
            {
                if (source.LengthFields.Length == 0)
                {
                    goto case 0;
                }
                (int offset, int count) = source.LengthFields[_random.Next(source.LengthFields.Length)];
                if (offset >= list.Count)
                {
                    goto case 0;
                }
                int original = list[offset];
                byte value = _random.Next(6) switch
                {
                    0 => (byte)(original + 1),
                    1 => (byte)(original - 1),
                    2 => 0x00,
                    3 => InterestingBytes[_random.Next(InterestingBytes.Length)],
                    4 => (byte)(0x80 | _random.Next(1, 9)), // switch to a long form of 1-8 bytes
                    _ => (byte)_random.Next(256),
                };
                description.Append($"length byte {offset} (of {count}) 0x{original:x2} -> 0x{value:x2}");
                list[offset] = value;
                if (count > 1 && _random.Next(2) == 0 && offset + 1 < list.Count)
                {
                    list[offset + 1] = (byte)_random.Next(256);
                    description.Append($", next 0x{list[offset + 1]:x2}");
                }
                return list.ToArray();
            }
            case 8:
            {
                int at = _random.Next(list.Count);
                int n = Math.Min(list.Count - at, 1 + _random.Next(48));
                int to = _random.Next(list.Count + 1);
                description.Append($"duplicate {n} at {at} to {to}");
                list.InsertRange(to, list.GetRange(at, n));
                return list.ToArray();
            }
            default:
            {
                if (_random.Next(2) == 0 && source.TagOffsets.Length > 0)
                {
                    int offset = source.TagOffsets[_random.Next(source.TagOffsets.Length)];
                    if (offset < list.Count)
                    {
                        byte value = InterestingBytes[_random.Next(InterestingBytes.Length)];
                        description.Append($"tag byte {offset} 0x{list[offset]:x2} -> 0x{value:x2}");
                        list[offset] = value;
                        return list.ToArray();
                    }
                }
                Source donor = donors[_random.Next(donors.Count)];
                int from = _random.Next(donor.Der.Length);
                int n = Math.Min(donor.Der.Length - from, 1 + _random.Next(64));
                int at = _random.Next(list.Count);
                int replace = Math.Min(list.Count - at, _random.Next(n + 1));
                description.Append($"splice {n} from {donor.Name}@{from} over {replace} at {at}");
                list.RemoveRange(at, replace);
                list.InsertRange(at, new ArraySegment<byte>(donor.Der, from, n));
                return list.ToArray();
            }
        }
    }

    private static void WalkDer(byte[] der, int start, int end, List<int> tags, List<(int, int)> lengths, int depth)
    {
        int p = start;
        while (p < end && depth < 16)
        {
            int tagAt = p;
            byte tag = der[p++];
            if ((tag & 0x1F) == 0x1F)
            {
                return; // multi-byte tags do not occur in SSL_SESSION
            }
            if (p >= end)
            {
                return;
            }
            int lengthAt = p;
            int length;
            int lengthBytes;
            if (der[p] < 0x80)
            {
                length = der[p];
                lengthBytes = 1;
            }
            else
            {
                int n = der[p] & 0x7F;
                if (n is 0 or > 3 || p + n >= end)
                {
                    return;
                }
                length = 0;
                for (int i = 1; i <= n; i++)
                {
                    length = (length << 8) | der[p + i];
                }
                lengthBytes = 1 + n;
            }
            p += lengthBytes;
            if (length > end - p)
            {
                return;
            }
            tags.Add(tagAt);
            lengths.Add((lengthAt, lengthBytes));
            // Constructed (SEQUENCE, explicit [n]) and OCTET STRINGs that wrap DER (X509 inside) are walked.
            bool constructed = (tag & 0x20) != 0;
            if (constructed || (tag == 0x04 && length > 2 && der[p] == 0x30))
            {
                WalkDer(der, p, p + length, tags, lengths, depth + 1);
            }
            p += length;
        }
    }

    private static string Escape(string s)
    {
        var b = new StringBuilder("\"");
        foreach (char c in s)
        {
            b.Append(c is >= ' ' and < '\u007f' ? c.ToString() : $"\\u{(int)c:x4}");
        }
        return b.Append('"').ToString();
    }
}
