using System;
using System.CommandLine;
using System.Threading.Tasks;
using FastSession.Redis;
using StackExchange.Redis;

namespace FastSession.Cli.Commands;

/// <summary>
/// <c>serve --early-data [--early-data-replay redis://HOST:PORT[/prefix]]</c>: accept TLS 1.3 early data (0-RTT, as
/// <c>openssl s_server -early_data</c>), replay-protected by OpenSSL's single-use tickets in this process, or across a fleet
/// by a Redis record per ticket.
/// </summary>
internal static class ServeEarlyData
{
    public sealed record Settings(string? ReplayGuard, int MaxEarlyData);

    public static Func<ParseResult, Settings?> AddOptions(Command command)
    {
        var enable = new Option<bool>("--early-data") { Description = "Accept TLS 1.3 early data (0-RTT; replayable: the echo/HTTP answers are safe to repeat). Replays in this process fall back to 1-RTT." };
        var replay = new Option<string?>("--early-data-replay") { Description = "With --early-data: share the anti-replay record with a fleet on redis://HOST:PORT[/prefix] (one SET NX PX per ticket; Redis down = early data rejected)." };
        var max = new Option<int>("--max-early-data") { Description = "With --early-data: bytes of early data a ticket allows (SSL_CTX_set_max_early_data).", DefaultValueFactory = _ => 16384 };
        command.Options.Add(enable);
        command.Options.Add(replay);
        command.Options.Add(max);
        return parse => parse.GetValue(enable) ? new Settings(parse.GetValue(replay), parse.GetValue(max))
            : parse.GetValue(replay) is not null ? throw CliException.Usage("--early-data-replay needs --early-data.")
            : parse.GetResult(max) is { Implicit: false } ? throw CliException.Usage("--max-early-data needs --early-data.") : null;
    }

    /// <summary>Sets the early-data options; returns what must be released with the server (the Redis connection), or null.</summary>
    public static async Task<IAsyncDisposable?> ApplyAsync(SslServerOptions options, ServeCommand.Settings settings, CliIo io)
    {
        if (settings.EarlyData is not { } early)
        {
            return null;
        }
        if (settings.Version == TlsVersion.Tls12)
        {
            throw CliException.Usage("--early-data needs TLS 1.3; it cannot be combined with --tls 1.2.");
        }
        if (early.MaxEarlyData is < 1 or > 1 << 20)
        {
            throw CliException.Usage("--max-early-data must be between 1 and 1048576.");
        }
        options.DangerousEnableReplayableEarlyData = true;
        options.MaxEarlyData = early.MaxEarlyData;
        if (early.ReplayGuard is null)
        {
            io.Output.WriteLine($"early data: on (at most {early.MaxEarlyData} bytes; replays refused by OpenSSL's single-use tickets in this process)");
            return null;
        }
        if (settings.Fleet?.SessionStore is { Length: > 0 })
        {
            // One client-hello callback per SSL_CTX: the store's lookup pause and the replay guard's decision cannot share it.
            throw CliException.Usage("--early-data-replay cannot be combined with --session-store; share --ticket-keys across the fleet instead.");
        }
        RedisLocation location;
        try
        {
            location = RedisLocation.Parse(early.ReplayGuard);
        }
        catch (FormatException e)
        {
            throw CliException.Usage($"--early-data-replay: {e.Message}");
        }
        ConnectionMultiplexer redis = await location.ConnectAsync().ConfigureAwait(false);
        options.EarlyDataReplayGuard = new RedisEarlyDataReplayGuard(redis, location.Prefix);
        io.Output.WriteLine($"early data: on (at most {early.MaxEarlyData} bytes; replays refused across the fleet by {location}{(redis.IsConnected ? "" : "; not reachable yet: early data rejected until it answers")})");
        return redis;
    }

    /// <summary>The connection line's early-data part, empty when early data is off or was not offered.</summary>
    public static string Describe(FastSslStream tls) => tls.EarlyDataStatus switch
    {
        SslEarlyDataStatus.Accepted => $", early data accepted ({tls.EarlyDataLength} bytes)",
        SslEarlyDataStatus.Rejected => $", early data rejected ({tls.EarlyDataReason})",
        _ => "",
    };
}
