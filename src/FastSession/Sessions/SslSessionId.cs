using System;
using System.Runtime.CompilerServices;

namespace FastSession;

/// <summary>
/// A session id (<c>SSL_SESSION_get_id</c>, at most 32 bytes) held by value, so it can be kept,
/// compared and hashed without allocating or touching the native session again.
/// </summary>
public readonly struct SslSessionId : IEquatable<SslSessionId>
{
    private readonly Bytes32 _bytes;
    private readonly int _length;

    /// <summary>Copies up to 32 bytes of <paramref name="id"/>.</summary>
    public SslSessionId(ReadOnlySpan<byte> id)
    {
        if (id.Length > 32)
        {
            throw new ArgumentException("A TLS session id is at most 32 bytes.", nameof(id));
        }
        _bytes = default;
        id.CopyTo(_bytes);
        _length = id.Length;
    }

    /// <summary>Number of bytes in the id (0 for none).</summary>
    public int Length => _length;

    /// <summary>Whether the id is empty (a TLS 1.3 session before its ticket has none).</summary>
    public bool IsEmpty => _length == 0;

    /// <summary>Copies the id into <paramref name="destination"/> and returns its length.</summary>
    public int CopyTo(Span<byte> destination)
    {
        ReadOnlySpan<byte> all = _bytes;
        all[.._length].CopyTo(destination);
        return _length;
    }

    /// <summary>The id as a new array.</summary>
    public byte[] ToArray()
    {
        ReadOnlySpan<byte> all = _bytes;
        return all[.._length].ToArray();
    }

    /// <summary>Upper-case hex, as <c>openssl sess_id -text</c> prints it.</summary>
    public override string ToString()
    {
        ReadOnlySpan<byte> all = _bytes;
        return Convert.ToHexString(all[.._length]);
    }

    /// <inheritdoc />
    public bool Equals(SslSessionId other)
    {
        ReadOnlySpan<byte> a = _bytes, b = other._bytes;
        return _length == other._length && a[.._length].SequenceEqual(b[..other._length]);
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SslSessionId other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        ReadOnlySpan<byte> all = _bytes;
        hash.AddBytes(all[.._length]);
        return hash.ToHashCode();
    }

    /// <summary>Equality of the id bytes.</summary>
    public static bool operator ==(SslSessionId left, SslSessionId right) => left.Equals(right);

    /// <summary>Inequality of the id bytes.</summary>
    public static bool operator !=(SslSessionId left, SslSessionId right) => !left.Equals(right);

    [InlineArray(32)]
    private struct Bytes32 { private byte _e; }
}
