using System;
using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Cli.Commands;

/// <summary>
/// <c>fastsession connect HOST:PORT</c>: N+1 connections, each resuming from a session of the one before (through a
/// <see cref="SslClientSessionCache"/>: a TLS 1.3 ticket is used once, a TLS 1.2 session until it expires), waiting for
/// TLS 1.3 tickets after each handshake — which <c>openssl s_client -reconnect</c> does not. One line (or JSON object)
/// per connection, then a summary. <c>--sess-in</c>/<c>--sess-out</c> files are interchangeable with
/// <c>openssl s_client -sess_in/-sess_out</c>.
/// </summary>
internal static class ConnectCommand
{
    private static readonly TimeSpan TicketWait = TimeSpan.FromSeconds(2);

    public sealed record Settings(
        string Target, TlsVersion? Version, int Reconnect, string? SessionIn, string? SessionOut, string? ServerName, bool Json, double TimeoutSeconds,
        string? CaFile = null, string? CaPath = null, bool Insecure = false, string? CertificateFile = null, string? KeyFile = null,
        FleetConnectSettings? Fleet = null, string? EarlyDataFile = null);

    public static Command Create(CliIo io)
    {
        var target = new Argument<string>("HOST:PORT") { Description = "The server to connect to." };
        var tls = new Option<string?>("--tls") { Description = "Only this protocol: 1.2 or 1.3 (default: both)." };
        tls.AcceptOnlyFromAmong("1.2", "1.3");
        var reconnect = new Option<int>("--reconnect") { Description = "Reconnect N times, each resuming from a session of the previous connection." };
        var sessIn = new Option<string?>("--sess-in") { Description = "Resume the first connection from this PEM session file (as openssl s_client -sess_in)." };
        var sessOut = new Option<string?>("--sess-out") { Description = "Write the last session received to this PEM file (as openssl s_client -sess_out)." };
        var serverName = new Option<string?>("--servername") { Description = "SNI to send and the name the server's certificate must match (default: HOST)." };
        var caFile = new Option<string?>("--cafile") { Description = "Also trust the CA certificates in this PEM file (as openssl s_client -CAfile)." };
        var caPath = new Option<string?>("--capath") { Description = "Also trust the CA certificates in this hashed directory (as openssl s_client -CApath)." };
        var insecure = new Option<bool>("--insecure") { Description = "Do not verify the server's certificate at all (anyone on the path can impersonate it)." };
        var clientCert = new Option<string?>("--cert") { Description = "Client certificate (chain) PEM file for mutual TLS." };
        var clientKey = new Option<string?>("--key") { Description = "Private key PEM file of --cert." };
        var json = new Option<bool>("--json") { Description = "One JSON object per line per connection, then a summary object." };
        var earlyData = new Option<string?>("--early-data") { Description = "Send this file's bytes as TLS 1.3 early data (0-RTT) on resumed connections, as openssl s_client -early_data; replayable: only for requests safe to repeat. Rejected or unsent bytes are sent after the handshake." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds allowed for each TCP connect and TLS handshake.", DefaultValueFactory = _ => 10 };
        var command = new Command("connect", "Connect (and reconnect, resuming) to a TLS server; one line per connection and a summary.");
        command.Arguments.Add(target);
        command.Options.Add(tls);
        command.Options.Add(reconnect);
        command.Options.Add(sessIn);
        command.Options.Add(sessOut);
        command.Options.Add(serverName);
        command.Options.Add(caFile);
        command.Options.Add(caPath);
        command.Options.Add(insecure);
        command.Options.Add(clientCert);
        command.Options.Add(clientKey);
        command.Options.Add(json);
        command.Options.Add(timeout);
        command.Options.Add(earlyData);
        Func<ParseResult, FleetConnectSettings> fleet = FleetOptions.AddToConnect(command);
        command.SetAction((parse, ct) => RunAsync(io, new Settings(
            parse.GetValue(target)!, TlsText.ParseOption(parse.GetValue(tls)), parse.GetValue(reconnect), parse.GetValue(sessIn),
            parse.GetValue(sessOut), parse.GetValue(serverName), parse.GetValue(json), parse.GetValue(timeout),
            parse.GetValue(caFile), parse.GetValue(caPath), parse.GetValue(insecure), parse.GetValue(clientCert), parse.GetValue(clientKey),
            fleet(parse), parse.GetValue(earlyData)), ct));
        return command;
    }

    public static async Task<int> RunAsync(CliIo io, Settings settings, CancellationToken cancellationToken)
    {
        (string host, int port) = Endpoints.ParseHostPort(settings.Target, "HOST:PORT");
        if (port == 0)
        {
            throw CliException.Usage($"HOST:PORT '{settings.Target}' needs a port other than 0.");
        }
        if (settings.Reconnect is < 0 or > 100_000)
        {
            throw CliException.Usage("--reconnect must be between 0 and 100000.");
        }
        if (!(settings.TimeoutSeconds > 0))
        {
            throw CliException.Usage("--timeout must be a positive number of seconds.");
        }
        TimeSpan timeout = TimeSpan.FromSeconds(settings.TimeoutSeconds);
        // Sessions belong to the server name: it is the cache key's host, so it is also the SNI sent.
        string sessionHost = string.IsNullOrEmpty(settings.ServerName) ? host : settings.ServerName;
        var key = new SslSessionCacheKey(sessionHost, port);

        var options = new SslClientOptions();
        TlsText.Apply(options, settings.Version);
        byte[]? earlyData = null;
        if (settings.EarlyDataFile is not null)
        {
            earlyData = SessionFiles.ReadBytes(settings.EarlyDataFile, "--early-data");
            if (settings.Version == TlsVersion.Tls12)
            {
                throw CliException.Usage("--early-data needs TLS 1.3; it cannot be combined with --tls 1.2.");
            }
            options.DangerousEnableReplayableEarlyData = true;
        }
        using SslContext context = CreateContext(options, settings);
        using var cache = new SslClientSessionCache(capacity: 64, perKey: 16);
        var latest = new LatestCopy();
        await using FleetClient? shared = await FleetOptions.CreateClientAsync(settings.Fleet, key, io).ConfigureAwait(false);
        // Every new session goes to the cache (which resumes the next connection) and, as a copy, to --sess-out.
        context.SessionEstablished = (connection, session) =>
        {
            latest.Replace(session.Duplicate());
            if (shared is not null)
            {
                shared.Put(session);
                return;
            }
            cache.OnSessionEstablished(connection, session);
        };
        try
        {
            if (settings.SessionIn is not null)
            {
                SslSession loaded = SessionFiles.Load(settings.SessionIn, context, "--sess-in");
                bool resumable = loaded.IsResumable;
                if (!cache.Add(key, loaded) || !resumable)
                {
                    io.Error.WriteLine($"fastsession: warning: the session in '{settings.SessionIn}' is not resumable (or expired); the first handshake will be a full one.");
                }
            }

            int connections = settings.Reconnect + 1;
            int reused = 0, reconnectsReused = 0;
            var reasons = new ResumptionReasons(); // observe
            TlsVersion lastProtocol = TlsVersion.None;
            for (int i = 0; i < connections; i++)
            {
                if (shared is not null && (i > 0 || settings.SessionIn is null))
                {
                    await shared.FillAsync(cache, context, cancellationToken).ConfigureAwait(false);
                }
                Outcome outcome = await ConnectOnceAsync(host, port, sessionHost, key, context, cache, latest, timeout, earlyData, cancellationToken).ConfigureAwait(false);
                lastProtocol = outcome.Protocol;
                reasons.Add(outcome.Reason); // observe
                if (outcome.Reused)
                {
                    reused++;
                    if (i > 0)
                    {
                        reconnectsReused++;
                    }
                }
                Print(io, settings.Json, i, outcome);
            }

            if (settings.SessionOut is not null)
            {
                SslSession last = latest.Take();
                if (last.IsNone)
                {
                    throw CliException.Failure("--sess-out: the server sent no session to save.");
                }
                using (last)
                {
                    SessionFiles.Save(settings.SessionOut, last, "--sess-out");
                }
            }

            if (settings.Json)
            {
                JsonLine.Write(io.Output, w =>
                {
                    w.WriteBoolean("summary", true);
                    w.WriteString("server", $"{host}:{port}");
                    w.WriteString("protocol", TlsText.OpenSslName(lastProtocol));
                    w.WriteNumber("connections", connections);
                    w.WriteNumber("reused", reused);
                    w.WriteNumber("reconnects", settings.Reconnect);
                    w.WriteNumber("reconnects_reused", reconnectsReused);
                    reasons.WriteJson(w); // observe
                });
            }
            else
            {
                io.Output.WriteLine(
                    $"{connections} connection{(connections == 1 ? "" : "s")} to {host}:{port} ({TlsText.OpenSslName(lastProtocol)}): " +
                    $"{connections - reused} full, {reused} resumed; reconnects resumed {reconnectsReused}/{settings.Reconnect}");
            }
            return ExitCodes.Ok;
        }
        finally
        {
            context.SessionEstablished = null;
            latest.Take().Dispose();
        }
    }

    /// <summary>
    /// The client context: verification on (system trust, which SSL_CERT_FILE / SSL_CERT_DIR override, plus --cafile /
    /// --capath; the certificate must match --servername or HOST) unless --insecure; --cert/--key for mutual TLS.
    /// </summary>
    private static SslContext CreateContext(SslClientOptions options, Settings settings)
    {
        if (settings.Insecure && (settings.CaFile is not null || settings.CaPath is not null))
        {
            throw CliException.Usage("--insecure skips verification; it cannot be combined with --cafile or --capath.");
        }
        if ((settings.CertificateFile is null) != (settings.KeyFile is null))
        {
            throw CliException.Usage("Give both --cert and --key, or neither.");
        }
        if (settings.ServerName is { Length: 0 })
        {
            throw CliException.Usage("--servername is empty.");
        }
        options.DangerousAcceptAnyServerCertificate = settings.Insecure;
        if (settings.CaFile is not null)
        {
            if (!System.IO.File.Exists(settings.CaFile))
            {
                throw CliException.Usage($"--cafile '{settings.CaFile}' does not exist.");
            }
            options.TrustedCertificatesFile = settings.CaFile;
        }
        if (settings.CaPath is not null)
        {
            if (!System.IO.Directory.Exists(settings.CaPath))
            {
                throw CliException.Usage($"--capath '{settings.CaPath}' is not a directory.");
            }
            options.TrustedCertificatesDirectory = settings.CaPath;
        }
        if (settings.CertificateFile is not null)
        {
            options.ClientCertificatePem = SessionFiles.ReadText(settings.CertificateFile, "--cert");
            options.ClientPrivateKeyPem = SessionFiles.ReadText(settings.KeyFile!, "--key");
        }
        try
        {
            return SslContext.CreateClient(options);
        }
        catch (ArgumentException e)
        {
            throw CliException.Usage($"cannot use the trust or client certificate files: {e.Message}");
        }
    }

    private static async Task<Outcome> ConnectOnceAsync(
        string host, int port, string sessionHost, SslSessionCacheKey key, SslContext context, SslClientSessionCache cache, LatestCopy latest,
        TimeSpan timeout, byte[]? earlyData, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        using var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, timer.Token).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw CliException.Failure($"cannot connect to {host}:{port}: {e.Message}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw CliException.Failure($"cannot connect to {host}:{port}: no answer within {timeout.TotalSeconds:0.#} s");
        }

        long hitsBefore = cache.Statistics.Hits;
        await using var tls = new FastSslStream(tcp.GetStream());
        try
        {
            await (earlyData is null
                ? tls.AuthenticateAsClientAsync(context, sessionHost, key.Port, cache, key.ApplicationProtocol, timer.Token)
                : tls.AuthenticateAsClientAsync(context, sessionHost, key.Port, cache, earlyData, key.ApplicationProtocol, timer.Token)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw CliException.Failure($"TLS failure: no handshake with {host}:{port} within {timeout.TotalSeconds:0.#} s");
        }
        bool offered = cache.Statistics.Hits > hitsBefore;
        SslConnection connection = tls.Connection;

        // TLS 1.3 sessions come in tickets after the handshake: wait (bounded) for at least one.
        int tickets = await tls.WaitForSessionTicketsAsync(TicketWait, 1, cancellationToken).ConfigureAwait(false);

        var outcome = new Outcome
        {
            Protocol = connection.Protocol,
            Reused = connection.SessionReused,
            Offered = offered,
            Sessions = tickets,
            Reason = connection.ResumptionOutcome, // observe
            EarlyData = earlyData is null ? null : tls.EarlyDataStatus,
            EarlyDataReason = tls.EarlyDataReason,
        };
        if (connection.TryBorrowSession(out SslSessionRef view))
        {
            view.GetInfo(out SslSessionInfo info);
            outcome.Cipher = info.CipherName;
            outcome.SessionId = TlsText.Hex(info.Id);
            outcome.Resumable = info.IsResumable;
        }
        if (latest.IsEmpty && connection.TryAcquireSession(out SslSession current))
        {
            // No session was established (no ticket came): keep the connection's own for --sess-out.
            latest.Replace(current);
        }
        // close_notify: a clean close keeps the session resumable (S8).
        try
        {
            await tls.ShutdownAsync(timer.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.IO.IOException or OperationCanceledException)
        {
            // The server may close first; the session captured so far stays usable.
        }
        return outcome;
    }

    private static void Print(CliIo io, bool json, int index, Outcome o)
    {
        if (json)
        {
            JsonLine.Write(io.Output, w =>
            {
                w.WriteNumber("connection", index);
                w.WriteString("protocol", TlsText.OpenSslName(o.Protocol));
                w.WriteString("cipher", o.Cipher);
                w.WriteBoolean("reused", o.Reused);
                w.WriteBoolean("offered", o.Offered);
                w.WriteBoolean("resumable", o.Resumable);
                w.WriteString("session_id", o.SessionId);
                w.WriteNumber("sessions_received", o.Sessions);
                ResumptionReasons.WriteReason(w, o.Reason); // observe
                if (o.EarlyData is { } early)
                {
                    w.WriteString("early_data", EarlyDataText(early));
                    w.WriteString("early_data_reason", o.EarlyDataReason == SslEarlyDataReason.None ? null : o.EarlyDataReason.ToString());
                }
            });
            return;
        }
        string sessions = o.Protocol == TlsVersion.Tls13
            ? $", {o.Sessions} ticket{(o.Sessions == 1 ? "" : "s")}"
            : "";
        io.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"#{index} {(o.Reused ? "Reused" : "New")}, {TlsText.OpenSslName(o.Protocol)}, Cipher is {o.Cipher}, session {(o.SessionId.Length == 0 ? "(none)" : o.SessionId)}, resumable {TlsText.YesNo(o.Resumable)}{sessions}{(o.Offered && !o.Reused ? " (offered session refused)" : "")}"));
        if (o.EarlyData is { } status)
        {
            // The words openssl s_client prints, so scripts written for it keep working.
            io.Output.WriteLine(status switch
            {
                SslEarlyDataStatus.Accepted => "Early data was accepted",
                SslEarlyDataStatus.Rejected => $"Early data was rejected ({o.EarlyDataReason}; sent again after the handshake)",
                _ => $"Early data was not sent ({o.EarlyDataReason}; sent after the handshake)",
            });
        }
    }

    private static string EarlyDataText(SslEarlyDataStatus status) => status switch
    {
        SslEarlyDataStatus.Accepted => "accepted",
        SslEarlyDataStatus.Rejected => "rejected",
        _ => "not_sent",
    };

    private sealed class Outcome
    {
        public TlsVersion Protocol;
        public string Cipher = "";
        public bool Reused;
        public bool Offered;
        public bool Resumable;
        public string SessionId = "";
        public int Sessions;
        public SslResumptionOutcome Reason;
        public SslEarlyDataStatus? EarlyData;
        public SslEarlyDataReason EarlyDataReason;
    }

    /// <summary>The newest session received (owned), for --sess-out.</summary>
    private sealed class LatestCopy
    {
        private readonly object _lock = new();
        private SslSession _session;

        public bool IsEmpty
        {
            get
            {
                lock (_lock)
                {
                    return _session.IsNone;
                }
            }
        }

        public void Replace(SslSession session)
        {
            SslSession old;
            lock (_lock)
            {
                old = _session;
                _session = session;
            }
            old.Dispose();
        }

        public SslSession Take()
        {
            lock (_lock)
            {
                SslSession s = _session;
                _session = default;
                return s;
            }
        }
    }
}
