using System;
using System.Runtime.InteropServices;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Threading;
using FastSession.Interop;

namespace FastSession;

/// <summary>What the ticket-key callback did since the ring was made (one snapshot of the native counters).</summary>
/// <param name="Issued">Tickets encrypted under the current key.</param>
/// <param name="Resumed">Tickets presented under the current key (decryption started; OpenSSL still checks the HMAC).</param>
/// <param name="Renewed">Tickets under an older, still valid key: accepted and re-issued under the current one.</param>
/// <param name="Failed">Tickets under an unknown or expired key (full handshake), or no usable key to encrypt with.</param>
public readonly record struct TicketKeyCounts(long Issued, long Resumed, long Renewed, long Failed);

/// <summary>
/// The session-ticket keys of one or more server contexts: one encrypting key and older decrypt-only keys, each with
/// a lifetime (<see cref="TicketKey.NotAfter"/>). Attach it with <see cref="SslContext.UseTicketKeys"/>; rotate at any
/// time with <see cref="Install"/> — every attached context uses the new keys from its next handshake, no restart.
/// </summary>
/// <remarks>
/// <para>The keys live in native memory owned by the shim (<c>SSL_CTX_set_tlsext_ticket_key_evp_cb</c>): the
/// callback reads them under a read lock and never calls managed code; <see cref="Install"/> swaps the whole set
/// under the write lock and wipes the old copy (<c>OPENSSL_cleanse</c>). A ticket under an older key is accepted and
/// re-issued under the first key (the callback's "renew" return). Thread-safe.</para>
/// <para>Threat model: <c>src/FastSession/Fleet/THREAT-MODEL.md</c>.</para>
/// <para>Proposed instrument names for the <c>FastSession</c> meter (observable counters over <see cref="Counts"/>):
/// <c>fastsession.tls.ticket_keys.issued</c>, <c>fastsession.tls.ticket_keys.resumed</c>,
/// <c>fastsession.tls.ticket_keys.renewed</c>, <c>fastsession.tls.ticket_keys.failed</c>.</para>
/// </remarks>
public sealed class TicketKeyRing : IDisposable
{
    private readonly object _gate = new();
    private nint _ring;
    private string? _encryptingKeyName;
    private int _keyCount;
    private long _installs;

    /// <summary>Makes an empty ring (<c>FastSessionNative_TicketKeysNew</c>): no tickets are issued or accepted until <see cref="Install"/>.</summary>
    /// <exception cref="OutOfMemoryException">The shim could not allocate the ring.</exception>
    public TicketKeyRing()
    {
        _ring = TicketKeyNative.TicketKeysNew();
        if (_ring == 0)
        {
            throw new OutOfMemoryException("The shim could not allocate a ticket-key ring.");
        }
    }

    /// <summary>Frees the native ring if <see cref="Dispose"/> was not called.</summary>
    ~TicketKeyRing() => Free();

    /// <summary>A ring with the keys of nginx-format key files (48 or 80 bytes each); the first file's key encrypts.</summary>
    /// <exception cref="ArgumentException">No path, or more than 16.</exception>
    /// <exception cref="System.IO.FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="System.IO.InvalidDataException">A file is not 48 or 80 bytes long.</exception>
    public static TicketKeyRing FromFiles(params string[] paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var keys = new List<TicketKey>();
        try
        {
            foreach (string path in paths)
            {
                keys.Add(TicketKey.ReadFile(path));
            }
            var ring = new TicketKeyRing();
            try
            {
                ring.Install(keys);
            }
            catch
            {
                ring.Dispose();
                throw;
            }
            return ring;
        }
        finally
        {
            foreach (TicketKey key in keys)
            {
                key.Dispose();
            }
        }
    }

    /// <summary>Keys currently installed.</summary>
    public int KeyCount
    {
        get
        {
            lock (_gate)
            {
                return _keyCount;
            }
        }
    }

    /// <summary>Name (hex) of the encrypting key, null before the first <see cref="Install"/>. Names are not secret.</summary>
    public string? EncryptingKeyName
    {
        get
        {
            lock (_gate)
            {
                return _encryptingKeyName;
            }
        }
    }

    /// <summary>How many times keys were installed (rotations + 1).</summary>
    public long InstallCount => Interlocked.Read(ref _installs);

    /// <summary>The callback's outcomes so far (<c>FastSessionNative_TicketKeysGetCounts</c>).</summary>
    /// <exception cref="ObjectDisposedException">The ring was disposed.</exception>
    public TicketKeyCounts Counts
    {
        get
        {
            FsTicketKeyCounts c;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_ring == 0, this);
                TicketKeyNative.TicketKeysGetCounts(_ring, out c);
            }
            return new TicketKeyCounts(c.Issued, c.Resumed, c.Renewed, c.Failed);
        }
    }

    /// <summary>Tickets issued (see <see cref="Counts"/>).</summary>
    public long TicketsIssued => Counts.Issued;

    /// <summary>Tickets accepted under the current key.</summary>
    public long TicketsResumed => Counts.Resumed;

    /// <summary>Tickets accepted under an older key and re-issued.</summary>
    public long TicketsRenewed => Counts.Renewed;

    /// <summary>Tickets refused (unknown or expired key) and encryptions without a usable key.</summary>
    public long TicketsFailed => Counts.Failed;

    // Under the gate so a concurrent Dispose cannot free the ring during the call.
    internal int AttachTo(SslContext context)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_ring == 0, this);
            return TicketKeyNative.SslCtxSetTlsextTicketKeyEvpCb(context, _ring);
        }
    }

    internal static long LiveCount => TicketKeyNative.TicketKeysGetLiveCount();

    /// <summary>
    /// Replaces the keys in one step (<c>FastSessionNative_TicketKeysInstall</c>): <paramref name="keys"/>[0] encrypts,
    /// every key decrypts until its <see cref="TicketKey.NotAfter"/>. The ring copies the keys; the caller still owns
    /// (and should dispose) them.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="keys"/> or one of them is null.</exception>
    /// <exception cref="ArgumentException">No keys, more than 16, or two keys with the same name.</exception>
    /// <exception cref="ObjectDisposedException">The ring or one of the keys was disposed.</exception>
    public void Install(IReadOnlyList<TicketKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count is 0 or > TicketKeyNative.MaxKeys)
        {
            throw new ArgumentException($"A ticket-key ring holds 1 to {TicketKeyNative.MaxKeys} keys, not {keys.Count}.", nameof(keys));
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (TicketKey key in keys)
        {
            ArgumentNullException.ThrowIfNull(key, nameof(keys));
            if (!names.Add(key.NameHex))
            {
                throw new ArgumentException($"Two keys share the name {key.NameHex}: a ticket would decrypt under the wrong one.", nameof(keys));
            }
        }
        int count = keys.Count;
        Span<FsTicketKey> native = stackalloc FsTicketKey[count];
        Span<byte> bytes = MemoryMarshal.AsBytes(native);
        try
        {
            bytes.Clear();
            for (int i = 0; i < count; i++)
            {
                keys[i].Fill(ref native[i]);
            }
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_ring == 0, this);
                int status = TicketKeyNative.TicketKeysInstall(_ring, native, count);
                if (status != ShimConstants.Ok)
                {
                    throw new InvalidOperationException(OpenSslError.ReasonOr("Installing ticket keys"));
                }
                _keyCount = count;
                _encryptingKeyName = keys[0].NameHex;
                _installs++;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Drops this object's reference to the native ring; attached contexts keep theirs (and the last keys).</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public override string ToString()
    {
        lock (_gate)
        {
            return _ring == 0 ? "TicketKeyRing(disposed)" : $"TicketKeyRing({_keyCount} keys, encrypting {_encryptingKeyName ?? "(none)"})";
        }
    }

    private void Free()
    {
        lock (_gate)
        {
            nint ring = _ring;
            _ring = 0;
            if (ring != 0)
            {
                TicketKeyNative.TicketKeysFree(ring);
            }
        }
    }
}
