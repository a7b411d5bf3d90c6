using System;
using System.Collections.Generic;
using System.Globalization;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace FastSession.Redis;

/// <summary>Settings of <see cref="RedisTicketKeySource"/>.</summary>
public sealed class RedisTicketKeyOptions
{
    /// <summary>How long the newest key encrypts before the fleet rotates (once, whoever comes first). Default 1 hour.</summary>
    public TimeSpan RotationInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a key keeps decrypting after its encryption period (cover the ticket lifetime). Default 2 hours.</summary>
    public TimeSpan DecryptWindow { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Keys kept in Redis (newest first; older ones are trimmed). Default 4, at most 16.</summary>
    public int MaxKeys { get; set; } = 4;

    /// <summary>How often each process reads the ring (and rotates when due). Default 30 s.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The bounded wait for one Redis call. Default 500 ms.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long <see cref="RedisTicketKeySource.StartAsync"/> keeps trying to read the keys before it returns with an empty ring. Default 5 s.</summary>
    public TimeSpan StartupWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retry period after a failed refresh (instead of <see cref="RefreshInterval"/>), so keys come back soon after Redis does. Default 1 s.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(1);

    internal void Validate()
    {
        if (RotationInterval <= TimeSpan.Zero || DecryptWindow < TimeSpan.Zero || RefreshInterval <= TimeSpan.Zero || Timeout <= TimeSpan.Zero
            || RetryInterval <= TimeSpan.Zero || StartupWait < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RotationInterval), "RotationInterval, RefreshInterval, RetryInterval and Timeout must be positive, DecryptWindow and StartupWait not negative.");
        }
        if (MaxKeys is < 1 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxKeys), MaxKeys, "MaxKeys must be 1 to 16.");
        }
    }
}

/// <summary>
/// Feeds a <see cref="TicketKeyRing"/> from Redis so every process of a fleet encrypts and decrypts tickets with the
/// same keys, and rotation happens once for the fleet: a Lua script run by every process on each refresh pushes a
/// new key only when the newest one is older than <see cref="RedisTicketKeyOptions.RotationInterval"/> (atomic in
/// Redis, so concurrent processes never rotate twice). Threat model: src/FastSession/Fleet/THREAT-MODEL.md.
/// </summary>
/// <remarks>
/// Failure: when Redis is slow or down, the ring keeps its last keys (each valid until its lifetime ends) and the
/// failure is counted (<see cref="Errors"/>); a process that starts while Redis is down has an empty ring and makes
/// full handshakes without tickets until Redis answers. Entries that are not keys are skipped and counted
/// (<see cref="GarbageEntries"/>), never a crash.
/// </remarks>
public sealed class RedisTicketKeySource : IAsyncDisposable
{
    // KEYS[1] = the list (newest first). ARGV: now, interval (s), candidate entry, max keys.
    // Entry = 12 decimal digits of the creation time (unix s) + ':' + 80 key bytes.
    private const string RotateScript = """
        local head = redis.call('LINDEX', KEYS[1], 0)
        local created = head and tonumber(string.sub(head, 1, 12))
        if (not created) or (tonumber(ARGV[1]) - created >= tonumber(ARGV[2])) then
          redis.call('LPUSH', KEYS[1], ARGV[3])
          redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[4]) - 1)
        end
        return redis.call('LRANGE', KEYS[1], 0, -1)
        """;

    private const int StampLength = 13;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKey _key;
    private readonly RedisTicketKeyOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private string _installedSignature = "";
    private List<TicketKey> _installed = new(); // copies of what the ring holds (pinned, zeroed when dropped)
    private long _errors;
    private long _garbage;
    private long _refreshes;
    private Task _loop = Task.CompletedTask;
    private volatile bool _disposed;

    private RedisTicketKeySource(IConnectionMultiplexer redis, string prefix, TicketKeyRing ring, RedisTicketKeyOptions options)
    {
        _redis = redis;
        _key = $"{prefix}:ticket-keys";
        Ring = ring;
        _options = options;
    }

    /// <summary>The ring this source installs keys into (not owned).</summary>
    public TicketKeyRing Ring { get; }

    /// <summary>Redis calls that failed or timed out.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Entries in Redis that were not keys (skipped).</summary>
    public long GarbageEntries => Interlocked.Read(ref _garbage);

    /// <summary>Successful reads of the ring from Redis.</summary>
    public long Refreshes => Interlocked.Read(ref _refreshes);

    /// <summary>
    /// Reads (and when due, rotates) the fleet's keys, trying for up to <see cref="RedisTicketKeyOptions.StartupWait"/>,
    /// installs them into <paramref name="ring"/>, then keeps refreshing every <see cref="RedisTicketKeyOptions.RefreshInterval"/>
    /// (every <see cref="RedisTicketKeyOptions.RetryInterval"/> after a failure) until disposed. Does not throw when Redis
    /// is down (see the remarks on the class).
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static async Task<RedisTicketKeySource> StartAsync(IConnectionMultiplexer redis, string prefix, TicketKeyRing ring, RedisTicketKeyOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        ArgumentNullException.ThrowIfNull(ring);
        options ??= new RedisTicketKeyOptions();
        options.Validate();
        var source = new RedisTicketKeySource(redis, prefix, ring, options);
        long start = Environment.TickCount64;
        // A multiplexer made with AbortOnConnectFail = false may still be connecting: retry for a short while.
        while (!await source.RefreshAsync(rotateNow: false, cancellationToken).ConfigureAwait(false)
            && Environment.TickCount64 - start < (long)options.StartupWait.TotalMilliseconds)
        {
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
        source._loop = source.LoopAsync();
        return source;
    }

    /// <summary>Reads the keys now (rotating when due); returns whether Redis answered.</summary>
    public Task<bool> RefreshAsync(CancellationToken cancellationToken = default) => RefreshAsync(rotateNow: false, cancellationToken);

    /// <summary>Rotates the fleet's keys now (a new encrypting key for every process at its next refresh); returns whether Redis answered.</summary>
    public Task<bool> RotateNowAsync(CancellationToken cancellationToken = default) => RefreshAsync(rotateNow: true, cancellationToken);

    /// <summary>Stops refreshing. The ring keeps the last keys installed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _stop.Cancel();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
        await _refreshing.WaitAsync().ConfigureAwait(false);
        foreach (TicketKey key in _installed)
        {
            key.Dispose();
        }
        _installed.Clear();
        _refreshing.Release();
    }

    private async Task LoopAsync()
    {
        CancellationToken stop = _stop.Token;
        bool ok = Refreshes > 0;
        while (!stop.IsCancellationRequested)
        {
            TimeSpan wait = ok || _options.RetryInterval > _options.RefreshInterval ? _options.RefreshInterval : _options.RetryInterval;
            await Task.Delay(wait, stop).ConfigureAwait(false);
            ok = await RefreshAsync(rotateNow: false, stop).ConfigureAwait(false);
        }
    }

    private async Task<bool> RefreshAsync(bool rotateNow, CancellationToken cancellationToken)
    {
        if (_disposed)
        {
            return false;
        }
        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_disposed)
        {
            _refreshing.Release();
            return false;
        }
        byte[] candidate = new byte[StampLength + TicketKey.Size80];
        try
        {
            long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            Stamp(now).CopyTo(candidate);
            RandomNumberGenerator.Fill(candidate.AsSpan(StampLength));
            long interval = rotateNow ? 0 : (long)Math.Max(1, _options.RotationInterval.TotalSeconds);
            Task<RedisResult> call = _redis.GetDatabase().ScriptEvaluateAsync(
                RotateScript, [_key], [now, interval, candidate, _options.MaxKeys]);
            (bool ok, RedisResult result) = await Bounded.WaitAsync(call, _options.Timeout, cancellationToken).ConfigureAwait(false);
            if (!ok || result.IsNull || result.Resp2Type != ResultType.Array)
            {
                Interlocked.Increment(ref _errors);
                return false;
            }
            Install((RedisResult[])result!);
            Interlocked.Increment(ref _refreshes);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(candidate);
            _refreshing.Release();
        }
    }

    private static byte[] Stamp(long now) => System.Text.Encoding.ASCII.GetBytes(now.ToString("D12", CultureInfo.InvariantCulture) + ":");

    private void Install(RedisResult[] entries)
    {
        var keys = new List<TicketKey>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        try
        {
            foreach (RedisResult entry in entries)
            {
                byte[]? bytes = (byte[]?)entry;
                if (bytes is null || bytes.Length != StampLength + TicketKey.Size80 && bytes.Length != StampLength + TicketKey.Size48
                    || bytes[StampLength - 1] != (byte)':'
                    || !long.TryParse(bytes.AsSpan(0, StampLength - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long created))
                {
                    Interlocked.Increment(ref _garbage);
                    continue;
                }
                DateTimeOffset notAfter = DateTimeOffset.FromUnixTimeSeconds(created) + _options.RotationInterval + _options.DecryptWindow;
                TicketKey key = TicketKey.FromBytes(bytes.AsSpan(StampLength), notAfter);
                CryptographicOperations.ZeroMemory(bytes);
                if (notAfter <= now || !names.Add(key.NameHex) || keys.Count == 16)
                {
                    key.Dispose();
                    continue;
                }
                keys.Add(key);
            }
            if (keys.Count == 0)
            {
                return;
            }
            // Keys this process installed before and Redis no longer lists (Redis restarted empty, or trimmed
            // them) keep decrypting until their lifetime ends: a Redis flush must not cut live tickets.
            foreach (TicketKey old in _installed)
            {
                if (keys.Count < 16 && old.NotAfter > now && names.Add(old.NameHex))
                {
                    keys.Add(old.WithNotAfter(old.NotAfter));
                }
            }
            string signature = string.Join(';', keys.ConvertAll(static k => $"{k.NameHex}@{k.NotAfter:O}"));
            if (signature == _installedSignature)
            {
                return;
            }
            Ring.Install(keys);
            _installedSignature = signature;
            foreach (TicketKey old in _installed)
            {
                old.Dispose();
            }
            _installed = keys;
            keys = new List<TicketKey>();
        }
        catch (ObjectDisposedException)
        {
            // The ring was disposed under a running refresh: nothing to install into any more.
        }
        finally
        {
            foreach (TicketKey key in keys)
            {
                key.Dispose();
            }
        }
    }
}
