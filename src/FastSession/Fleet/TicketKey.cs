using System;
using System.IO;
using System.Security.Cryptography;

namespace FastSession;

/// <summary>
/// One session-ticket key in nginx's <c>ssl_session_ticket_key</c> formats: 80 bytes (16-byte name, 32-byte
/// HMAC-SHA256 key, 32-byte AES-256-CBC key) or 48 bytes (16-byte name, 16-byte AES-128-CBC key, 16-byte HMAC key).
/// Used by the shim's <c>SSL_CTX_set_tlsext_ticket_key_evp_cb</c> callback through a <see cref="TicketKeyRing"/>.
/// </summary>
/// <remarks>
/// The secret bytes live in one pinned array (the GC never copies them) and are zeroed by <see cref="Dispose"/>
/// (<see cref="CryptographicOperations.ZeroMemory"/>), or by the finalizer when dropped undisposed. <see cref="ToString"/> shows the name only: the name travels in
/// clear inside every ticket, the rest never leaves the process except through <see cref="CopyTo"/>.
/// </remarks>
public sealed class TicketKey : IDisposable
{
    /// <summary>Size of nginx's 80-byte key file (AES-256).</summary>
    public const int Size80 = 80;

    /// <summary>Size of nginx's 48-byte key file (AES-128).</summary>
    public const int Size48 = 48;

    // Normalized layout: name(16) | hmac(32) | aes(32); a 48-byte key uses the first 16 of each secret.
    private readonly byte[] _material = GC.AllocateArray<byte>(80, pinned: true);
    private bool _disposed;

    private TicketKey(int size, DateTimeOffset? notAfter)
    {
        Size = size;
        NotAfter = notAfter;
    }

    /// <summary>Zeroes the key material of a key that was dropped without <see cref="Dispose"/>.</summary>
    ~TicketKey() => CryptographicOperations.ZeroMemory(_material);

    /// <summary>48 or 80: the file format (and AES key size) of this key.</summary>
    public int Size { get; }

    /// <summary>When the key stops encrypting and decrypting (its lifetime); null = no limit.</summary>
    public DateTimeOffset? NotAfter { get; }

    /// <summary>The 16-byte key name (public: every ticket carries it), in hex.</summary>
    public string NameHex
    {
        get
        {
            ThrowIfDisposed();
            return Convert.ToHexStringLower(_material.AsSpan(0, 16));
        }
    }

    /// <summary>Makes a random 80-byte key (<see cref="RandomNumberGenerator"/>).</summary>
    public static TicketKey Generate(DateTimeOffset? notAfter = null)
    {
        var key = new TicketKey(Size80, notAfter);
        RandomNumberGenerator.Fill(key._material);
        return key;
    }

    /// <summary>Reads a key in nginx's byte layout (48 or 80 bytes).</summary>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is neither 48 nor 80 bytes long.</exception>
    public static TicketKey FromBytes(ReadOnlySpan<byte> bytes, DateTimeOffset? notAfter = null)
    {
        var key = new TicketKey(bytes.Length, notAfter);
        Span<byte> m = key._material;
        switch (bytes.Length)
        {
            case Size80:
                bytes.CopyTo(m); // name | hmac | aes, as stored
                break;
            case Size48:
                bytes[..16].CopyTo(m);              // name
                bytes.Slice(32, 16).CopyTo(m[16..]); // hmac (the file's last 16)
                bytes.Slice(16, 16).CopyTo(m[48..]); // aes (the file's middle 16)
                break;
            default:
                throw new ArgumentException($"A ticket key is 48 or 80 bytes (nginx's ssl_session_ticket_key format), not {bytes.Length}.", nameof(bytes));
        }
        return key;
    }

    /// <summary>Reads a 48- or 80-byte key file (<c>openssl rand 80 &gt; ticket.key</c>, as for nginx).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not 48 or 80 bytes long.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read.</exception>
    public static TicketKey ReadFile(string path, DateTimeOffset? notAfter = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        long length = file.Length;
        if (length is not (Size48 or Size80))
        {
            throw new InvalidDataException($"'{path}' is {length} bytes; a ticket key file is 48 or 80 bytes (nginx's ssl_session_ticket_key format).");
        }
        Span<byte> buffer = stackalloc byte[80];
        try
        {
            file.ReadExactly(buffer[..(int)length]);
            return FromBytes(buffer[..(int)length], notAfter);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer);
        }
    }

    /// <summary>Writes the key in nginx's layout (<see cref="Size"/> bytes). This copies the secret: wipe the destination.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    /// <exception cref="ObjectDisposedException">The key was disposed.</exception>
    public int CopyTo(Span<byte> destination)
    {
        ThrowIfDisposed();
        if (destination.Length < Size)
        {
            throw new ArgumentException($"The destination needs {Size} bytes.", nameof(destination));
        }
        ReadOnlySpan<byte> m = _material;
        if (Size == Size80)
        {
            m.CopyTo(destination);
        }
        else
        {
            m[..16].CopyTo(destination);
            m.Slice(48, 16).CopyTo(destination[16..]);
            m.Slice(16, 16).CopyTo(destination[32..]);
        }
        return Size;
    }

    /// <summary>A copy with another lifetime (the secret is copied, this key is unchanged).</summary>
    /// <exception cref="ObjectDisposedException">The key was disposed.</exception>
    public TicketKey WithNotAfter(DateTimeOffset? notAfter)
    {
        ThrowIfDisposed();
        var copy = new TicketKey(Size, notAfter);
        _material.CopyTo(copy._material, 0);
        return copy;
    }

    /// <summary>Zeroes the key material.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_material);
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public override string ToString() => _disposed ? "TicketKey(disposed)" : $"TicketKey({NameHex}, {Size} bytes{(NotAfter is { } t ? $", until {t:u}" : "")})";

    internal void Fill(ref Interop.FsTicketKey native)
    {
        ThrowIfDisposed();
        ReadOnlySpan<byte> m = _material;
        m[..16].CopyTo(native.Name);
        m.Slice(16, 32).CopyTo(native.HmacKey);
        m.Slice(48, 32).CopyTo(native.AesKey);
        native.KeySize = Size == Size80 ? 32 : 16;
        native.NotAfter = NotAfter is { } t ? Math.Max(1, t.ToUnixTimeSeconds()) : 0;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
