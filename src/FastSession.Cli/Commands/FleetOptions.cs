using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Redis;
using StackExchange.Redis;

namespace FastSession.Cli.Commands;

/// <summary><c>serve</c>'s fleet options: where the ticket keys and the server's sessions come from.</summary>
/// <param name="TicketKeys">Key files (comma-separated, the first encrypts) or <c>redis://HOST:PORT[/prefix]</c>.</param>
/// <param name="RotationSeconds">With Redis: how long a key encrypts before the fleet rotates.</param>
/// <param name="SessionStore">The server-side session cache, <c>redis://HOST:PORT[/prefix]</c> (TLS 1.2 ids; TLS 1.3 stateful tickets with --no-tickets).</param>
/// <param name="SessionStoreTimeoutMs">How long a handshake waits for the store before going on as a full one.</param>
public sealed record FleetServeSettings(string? TicketKeys, double RotationSeconds, string? SessionStore = null, double SessionStoreTimeoutMs = 100);

/// <summary><c>connect</c>'s fleet options: a session store shared by every client process.</summary>
/// <param name="SessionStore"><c>redis://HOST:PORT[/prefix]</c>.</param>
/// <param name="SessionKey">HOST:PORT naming the service in the store (a fleet behind one name shares it); default the target.</param>
public sealed record FleetConnectSettings(string? SessionStore, string? SessionKey);

/// <summary>
/// The fleet options of <c>serve</c> and <c>connect</c> (issue 16), kept in one file so the commands only wire them in:
/// <c>serve --ticket-keys FILE[,FILE]|redis://HOST:PORT[/prefix] [--ticket-key-rotation S]</c>,
/// <c>connect --session-store redis://HOST:PORT[/prefix] [--session-key HOST:PORT]</c>.
/// </summary>
internal static class FleetOptions
{
    public static Func<ParseResult, FleetServeSettings> AddToServe(Command command)
    {
        var keys = new Option<string?>("--ticket-keys") { Description = "Session-ticket keys shared by a fleet: nginx-format key files (48 or 80 bytes; comma-separated, the first encrypts) or redis://HOST:PORT[/prefix] (shared, rotating)." };
        var rotation = new Option<double>("--ticket-key-rotation") { Description = "With redis:// keys: seconds a key encrypts before the fleet rotates.", DefaultValueFactory = _ => 3600 };
        var store = new Option<string?>("--session-store") { Description = "Keep server sessions in a store shared by the fleet: redis://HOST:PORT[/prefix] (TLS 1.2 session ids; with --no-tickets also TLS 1.3 stateful tickets). Lookups are asynchronous; a slow or down store means full handshakes." };
        var storeTimeout = new Option<double>("--session-store-timeout") { Description = "With --session-store: milliseconds a handshake waits for the store.", DefaultValueFactory = _ => 100 };
        command.Options.Add(keys);
        command.Options.Add(rotation);
        command.Options.Add(store);
        command.Options.Add(storeTimeout);
        return parse =>
        {
            // Options that only mean something with another one are refused alone rather than silently ignored.
            if (parse.GetResult(rotation) is { Implicit: false } && parse.GetValue(keys)?.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) != true)
            {
                throw CliException.Usage("--ticket-key-rotation needs --ticket-keys redis://... (key files do not rotate).");
            }
            if (parse.GetResult(storeTimeout) is { Implicit: false } && string.IsNullOrEmpty(parse.GetValue(store)))
            {
                throw CliException.Usage("--session-store-timeout needs --session-store.");
            }
            return new FleetServeSettings(parse.GetValue(keys), parse.GetValue(rotation), parse.GetValue(store), parse.GetValue(storeTimeout));
        };
    }

    public static Func<ParseResult, FleetConnectSettings> AddToConnect(Command command)
    {
        var store = new Option<string?>("--session-store") { Description = "Share sessions with other client processes: redis://HOST:PORT[/prefix] (TLS 1.3 tickets single use across the fleet)." };
        var key = new Option<string?>("--session-key") { Description = "With --session-store: HOST:PORT naming the service in the store (default: the target)." };
        command.Options.Add(store);
        command.Options.Add(key);
        return parse => new FleetConnectSettings(parse.GetValue(store), parse.GetValue(key));
    }

    /// <summary>Attaches the ticket keys and the session store to a server context; the result releases them on dispose.</summary>
    public static async Task<IAsyncDisposable?> AttachServeAsync(FleetServeSettings? settings, SslContext context, CliIo io)
    {
        IAsyncDisposable? keys = await AttachTicketKeysAsync(settings, context, io).ConfigureAwait(false);
        try
        {
            IAsyncDisposable? store = await AttachSessionStoreAsync(settings, context, io).ConfigureAwait(false);
            return keys is null ? store : store is null ? keys : new Both(keys, store);
        }
        catch
        {
            if (keys is not null)
            {
                await keys.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
    }

    private static async Task<IAsyncDisposable?> AttachSessionStoreAsync(FleetServeSettings? settings, SslContext context, CliIo io)
    {
        if (settings?.SessionStore is not { Length: > 0 } spec)
        {
            return null;
        }
        if (!(settings.SessionStoreTimeoutMs >= 1 && settings.SessionStoreTimeoutMs <= 60_000))
        {
            throw CliException.Usage("--session-store-timeout must be 1 to 60000 milliseconds.");
        }
        RedisLocation location = ParseLocation(spec, "--session-store");
        ConnectionMultiplexer redis = await location.ConnectAsync().ConfigureAwait(false);
        TimeSpan timeout = TimeSpan.FromMilliseconds(settings.SessionStoreTimeoutMs);
        context.ServerSessionLookupTimeout = timeout;
        context.UseServerSessionStore(new RedisServerSessionStore(redis, location.Prefix, timeout));
        io.Output.WriteLine($"session store: {location} (server sessions by id, lookups wait at most {timeout.TotalMilliseconds:0} ms{(redis.IsConnected ? "" : "; not reachable yet: full handshakes until it answers")})");
        return new StoreResources(redis);
    }

    /// <summary>
    /// The line <c>serve</c> prints with its resumption summary when it exits (by <c>--count</c>, Ctrl+C or SIGTERM):
    /// the server store's counters, or null without a store.
    /// </summary>
    public static Func<string>? ServeExitReport(FleetServeSettings? settings, SslContext context) =>
        settings?.SessionStore is { Length: > 0 } ? () => $"session store: {context.ServerSessionCacheCounters}" : null;

    private sealed class StoreResources(ConnectionMultiplexer redis) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await redis.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class Both(IAsyncDisposable first, IAsyncDisposable second) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await second.DisposeAsync().ConfigureAwait(false);
            await first.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<IAsyncDisposable?> AttachTicketKeysAsync(FleetServeSettings? settings, SslContext context, CliIo io)
    {
        if (settings?.TicketKeys is not { Length: > 0 } spec)
        {
            return null;
        }
        if (!(settings.RotationSeconds >= 1))
        {
            throw CliException.Usage("--ticket-key-rotation must be at least 1 second.");
        }
        var ring = new TicketKeyRing();
        try
        {
            if (spec.StartsWith("redis://", StringComparison.OrdinalIgnoreCase))
            {
                RedisLocation location = ParseLocation(spec, "--ticket-keys");
                ConnectionMultiplexer redis = await location.ConnectAsync().ConfigureAwait(false);
                var options = new RedisTicketKeyOptions
                {
                    RotationInterval = TimeSpan.FromSeconds(settings.RotationSeconds),
                    RefreshInterval = TimeSpan.FromSeconds(Math.Clamp(settings.RotationSeconds / 4, 1, 30)),
                };
                RedisTicketKeySource source = await RedisTicketKeySource.StartAsync(redis, location.Prefix, ring, options).ConfigureAwait(false);
                context.UseTicketKeys(ring);
                io.Output.WriteLine(ring.KeyCount > 0
                    ? $"ticket keys: {location} ({ring.KeyCount} key{(ring.KeyCount == 1 ? "" : "s")}, encrypting {ring.EncryptingKeyName})"
                    : $"ticket keys: {location} not reachable yet: full handshakes without tickets until it answers");
                return new ServeResources(ring, source, redis);
            }
            var keys = new List<TicketKey>();
            try
            {
                foreach (string path in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    keys.Add(TicketKey.ReadFile(path));
                }
                ring.Install(keys);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
            {
                throw CliException.Usage($"--ticket-keys: {e.Message}");
            }
            finally
            {
                foreach (TicketKey key in keys)
                {
                    key.Dispose();
                }
            }
            context.UseTicketKeys(ring);
            io.Output.WriteLine($"ticket keys: {keys.Count} from file{(keys.Count == 1 ? "" : "s")}, encrypting {ring.EncryptingKeyName}");
            return new ServeResources(ring, null, null);
        }
        catch
        {
            ring.Dispose();
            throw;
        }
    }

    /// <summary>The client side of <c>--session-store</c>, or null without it.</summary>
    public static async Task<FleetClient?> CreateClientAsync(FleetConnectSettings? settings, SslSessionCacheKey targetKey, CliIo io)
    {
        if (settings?.SessionStore is not { Length: > 0 } spec)
        {
            if (settings?.SessionKey is not null)
            {
                throw CliException.Usage("--session-key names the service in --session-store; give --session-store too.");
            }
            return null;
        }
        RedisLocation location = ParseLocation(spec, "--session-store");
        SslSessionCacheKey key = targetKey;
        if (settings.SessionKey is { Length: > 0 } named)
        {
            (string host, int port) = Endpoints.ParseHostPort(named, "--session-key");
            key = new SslSessionCacheKey(host, port, targetKey.ApplicationProtocol);
        }
        ConnectionMultiplexer redis = await location.ConnectAsync().ConfigureAwait(false);
        if (!redis.IsConnected)
        {
            // Not an error (a store that is down means full handshakes, as on servers), but without this line a run that
            // resumes nothing would not say why.
            io.Error.WriteLine($"fastsession: warning: session store {location} is not reachable: connections go on without it (full handshakes).");
        }
        return new FleetClient(redis, new RedisSslSessionStore(redis, location.Prefix), key, targetKey);
    }

    private static RedisLocation ParseLocation(string spec, string option)
    {
        try
        {
            return RedisLocation.Parse(spec);
        }
        catch (FormatException e)
        {
            throw CliException.Usage($"{option}: {e.Message}");
        }
    }

    private sealed class ServeResources(TicketKeyRing ring, RedisTicketKeySource? source, ConnectionMultiplexer? redis) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (source is not null)
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }
            if (redis is not null)
            {
                await redis.DisposeAsync().ConfigureAwait(false);
            }
            ring.Dispose(); // the context keeps its own reference to the native ring
        }
    }
}

/// <summary>
/// <c>connect --session-store</c>: before each connection the local cache is filled from the shared store, and every
/// session the server sends goes to the store instead of the local cache, so the next connection — in this process or
/// another — takes it from there (TLS 1.3 once).
/// </summary>
internal sealed class FleetClient(ConnectionMultiplexer redis, RedisSslSessionStore store, SslSessionCacheKey storeKey, SslSessionCacheKey localKey) : IAsyncDisposable
{
    private readonly List<Task> _pending = new();

    public SessionStoreCounters Counters => store.Counters;

    /// <summary>Takes ownership of <paramref name="session"/> and writes it to the store in the background.</summary>
    public void Put(SslSession session)
    {
        Task write = PutAsync(session);
        lock (_pending)
        {
            _pending.Add(write);
        }
    }

    /// <summary>Waits for earlier writes, then moves a session from the store into <paramref name="cache"/>.</summary>
    public async Task FillAsync(SslClientSessionCache cache, SslContext context, CancellationToken cancellationToken)
    {
        await FlushAsync().ConfigureAwait(false);
        SslSession session = await store.TakeAsync(storeKey, context, cancellationToken).ConfigureAwait(false);
        if (!session.IsNone)
        {
            cache.Add(localKey, session);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await FlushAsync().ConfigureAwait(false);
        await redis.DisposeAsync().ConfigureAwait(false);
    }

    private async Task FlushAsync()
    {
        Task[] pending;
        lock (_pending)
        {
            pending = _pending.ToArray();
            _pending.Clear();
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private async Task PutAsync(SslSession session)
    {
        using (session)
        {
            await store.AddAsync(storeKey, session).ConfigureAwait(false);
        }
    }
}
