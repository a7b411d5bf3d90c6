using System;
using System.Globalization;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace FastSession.Redis;

/// <summary>A parsed <c>redis://HOST:PORT[/prefix]</c> location: where the server is and the key prefix FastSession uses there.</summary>
/// <param name="Host">Host name or address.</param>
/// <param name="Port">TCP port.</param>
/// <param name="Prefix">Prefix of every key FastSession writes (default <c>fastsession</c>); processes of one fleet share it.</param>
public sealed record RedisLocation(string Host, int Port, string Prefix)
{
    /// <summary>The prefix used when the location has none.</summary>
    public const string DefaultPrefix = "fastsession";

    /// <summary>Parses <c>redis://HOST:PORT[/prefix]</c> (port default 6379).</summary>
    /// <exception cref="FormatException">Not of that form.</exception>
    public static RedisLocation Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        const string scheme = "redis://";
        if (!text.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"'{text}' is not a redis://HOST:PORT[/prefix] location.");
        }
        string rest = text[scheme.Length..];
        string prefix = DefaultPrefix;
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            prefix = rest[(slash + 1)..].TrimEnd('/');
            rest = rest[..slash];
            if (prefix.Length == 0)
            {
                prefix = DefaultPrefix;
            }
        }
        string host = rest;
        int port = 6379;
        int colon = rest.LastIndexOf(':');
        if (colon >= 0)
        {
            host = rest[..colon];
            if (!int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                throw new FormatException($"'{text}': the port must be 1-65535.");
            }
        }
        host = host.Trim('[', ']');
        if (host.Length == 0)
        {
            throw new FormatException($"'{text}' has no host.");
        }
        return new RedisLocation(host, port, prefix);
    }

    /// <summary>
    /// Client settings for a store on the connection path: never aborts on a failed connect (the multiplexer keeps
    /// reconnecting in the background, so resumption comes back by itself), fails commands fast while disconnected.
    /// </summary>
    public ConfigurationOptions ToConfiguration()
    {
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = 1000,
            SyncTimeout = 1000,
            AsyncTimeout = 1000,
            ConnectRetry = 1,
            BacklogPolicy = BacklogPolicy.FailFast,
            ReconnectRetryPolicy = new LinearRetry(250),
            ClientName = "fastsession",
        };
        options.EndPoints.Add(Host, Port);
        return options;
    }

    /// <summary>Connects (<see cref="ConnectionMultiplexer.ConnectAsync(ConfigurationOptions, System.IO.TextWriter?)"/>); returns even when Redis is down.</summary>
    public Task<ConnectionMultiplexer> ConnectAsync() => ConnectionMultiplexer.ConnectAsync(ToConfiguration());

    /// <inheritdoc />
    public override string ToString() => $"redis://{Host}:{Port}/{Prefix}";
}
