using System;
using System.Buffers;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Cli.Commands;

/// <summary>
/// <c>fastsession serve</c>: a TLS server on FastSslStream — an echo server, or with <c>--http</c> a minimal HTTP/1.1 server
/// that <c>openssl s_time -www /</c> and curl can drive. Logs New/Reused per connection (unless <c>--quiet</c>); exits after
/// <c>--count</c> connections when given (else on Ctrl+C).
/// </summary>
/// <remarks>
/// One accept loop per core on one listening socket; every connection runs on the thread pool, so a slow handshake never
/// holds up an accept. Peers that hang up (a reset, a transport closed mid-handshake — what <c>s_time</c> does all the time)
/// are counted and logged only with <c>--verbose</c>; other failures (alerts, timeouts) get one stderr line each.
/// </remarks>
internal static class ServeCommand
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    public sealed record Settings(string Accept, string? CertificateFile, string? KeyFile, TlsVersion? Version, bool NoTickets, int? Count,
        bool Http = false, bool Quiet = false, bool Verbose = false, string? CaFile = null, bool Verify = false, FleetServeSettings? Fleet = null,
        ServeEarlyData.Settings? EarlyData = null);

    /// <summary>The command's options; one field per option so that new ones are one line here and one in <see cref="Read"/>.</summary>
    private sealed class Options
    {
        public readonly Option<string> Accept = new("--accept") { Description = "Address and port to listen on (port 0 picks a free one).", DefaultValueFactory = _ => "127.0.0.1:4433" };
        public readonly Option<string?> Cert = new("--cert") { Description = "Certificate (chain) PEM file; without it an ephemeral self-signed ECDSA P-256 one is made." };
        public readonly Option<string?> Key = new("--key") { Description = "Private key PEM file (with --cert)." };
        public readonly Option<string?> Tls = new("--tls") { Description = "Only this protocol: 1.2 or 1.3 (default: both)." };
        public readonly Option<bool> NoTickets = new("--no-tickets") { Description = "Disable session tickets (TLS 1.2 then resumes by session id only)." };
        public readonly Option<int?> Count = new("--count") { Description = "Exit after this many connections." };
        public readonly Option<bool> Http = new("--http") { Description = "Answer each request with a minimal HTTP/1.1 response and close (for openssl s_time -www / and curl) instead of echoing." };
        public readonly Option<bool> Quiet = new("--quiet") { Description = "No line per connection; only the summary and failures." };
        public readonly Option<bool> Verbose = new("--verbose") { Description = "Also log peers that hung up (otherwise only counted)." };

        public IEnumerable<Option> All => new Option[] { Accept, Cert, Key, Tls, NoTickets, Count, Http, Quiet, Verbose };

        public Settings Read(ParseResult parse) => new(
            parse.GetValue(Accept)!, parse.GetValue(Cert), parse.GetValue(Key), TlsText.ParseOption(parse.GetValue(Tls)),
            parse.GetValue(NoTickets), parse.GetValue(Count), parse.GetValue(Http), parse.GetValue(Quiet), parse.GetValue(Verbose));
    }

    public static Command Create(CliIo io)
    {
        var options = new Options();
        options.Tls.AcceptOnlyFromAmong("1.2", "1.3");
        var command = new Command("serve", "TLS echo server (or --http: a minimal HTTPS server); logs New/Reused per connection.");
        foreach (Option option in options.All)
        {
            command.Options.Add(option);
        }
        (Option<string?> caFile, Option<bool> verify) = ServeClientCertificates.AddOptions(command);
        Func<ParseResult, FleetServeSettings> fleet = FleetOptions.AddToServe(command);
        Func<ParseResult, ServeEarlyData.Settings?> earlyData = ServeEarlyData.AddOptions(command);
        command.SetAction((parse, ct) => RunAsync(io, options.Read(parse) with
        {
            CaFile = parse.GetValue(caFile), Verify = parse.GetValue(verify), Fleet = fleet(parse), EarlyData = earlyData(parse),
        }, ct));
        return command;
    }

    public static async Task<int> RunAsync(CliIo io, Settings settings, CancellationToken cancellationToken)
    {
        IPEndPoint endPoint = Endpoints.ParseListen(settings.Accept);
        if (settings.Count is < 1)
        {
            throw CliException.Usage("--count must be at least 1.");
        }
        if ((settings.CertificateFile is null) != (settings.KeyFile is null))
        {
            throw CliException.Usage("Give both --cert and --key, or neither (for an ephemeral certificate).");
        }
        var options = new SslServerOptions { EnableTickets = !settings.NoTickets };
        TlsText.Apply(options, settings.Version);
        if (settings.CertificateFile is not null)
        {
            options.CertificatePem = SessionFiles.ReadText(settings.CertificateFile, "--cert");
            options.PrivateKeyPem = SessionFiles.ReadText(settings.KeyFile!, "--key");
        }
        ServeClientCertificates.Apply(options, settings);
        await using IAsyncDisposable? replayGuard = await ServeEarlyData.ApplyAsync(options, settings, io).ConfigureAwait(false);
        SslContext context;
        try
        {
            context = SslContext.CreateServer(options);
        }
        catch (ArgumentException e)
        {
            throw CliException.Usage($"cannot use {FilesNamed(settings)}: {e.Message}");
        }
        using (context)
        using (var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp))
        {
            await using IAsyncDisposable? fleetKeys = await FleetOptions.AttachServeAsync(settings.Fleet, context, io).ConfigureAwait(false);
            try
            {
                listener.Bind(endPoint);
                listener.Listen(1024);
            }
            catch (SocketException e)
            {
                throw CliException.Failure($"cannot listen on {settings.Accept}: {e.Message}");
            }
            // observe: prints the resumption summary (and the server store's counters) on exit, Ctrl+C and SIGTERM included
            using var resumption = new ServeResumptionSummary(io.Output, FleetOptions.ServeExitReport(settings.Fleet, context));
            string protocols = settings.Version is { } v ? TlsText.OpenSslName(v) : "TLSv1.2-TLSv1.3";
            io.Output.WriteLine($"listening on {Endpoints.Format(listener.LocalEndPoint)} ({protocols}, tickets {(settings.NoTickets ? "off" : "on")}" +
                $"{(settings.Http ? ", http" : "")}{(settings.Count is { } n ? $", {n} connection{(n == 1 ? "" : "s")}" : "")})");
            await io.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
            io.Output.WriteLine(await ServeAsync(io, context, settings, listener, cancellationToken).ConfigureAwait(false));
            return ExitCodes.Ok;
        }
    }

    /// <summary>The options whose files went into the server context, for the one line that says one of them is unusable.</summary>
    private static string FilesNamed(Settings settings)
    {
        var named = new List<string>();
        if (settings.CertificateFile is not null)
        {
            named.Add($"--cert '{settings.CertificateFile}' / --key '{settings.KeyFile}'");
        }
        if (settings.CaFile is not null)
        {
            named.Add($"--cafile '{settings.CaFile}'");
        }
        return named.Count == 0 ? "the ephemeral certificate" : string.Join(" or ", named);
    }

    /// <summary>Serves on a bound, listening socket until the count or cancellation; returns the summary line (also for bench).</summary>
    internal static async Task<string> ServeAsync(CliIo io, SslContext context, Settings settings, Socket listener, CancellationToken cancellationToken)
    {
        var server = new Server(io, context, settings, cancellationToken);
        await server.RunAsync(listener).ConfigureAwait(false);
        return server.Summary();
    }

    /// <summary>The accept loops, the connections in flight and the counters of one <c>serve</c> run.</summary>
    private sealed class Server
    {
        private readonly CliIo _io;
        private readonly SslContext _context;
        private readonly Settings _settings;
        private readonly CancellationToken _cancellationToken;
        // Cancelled on Ctrl+C or once --count connections were accepted: stops the accept loops.
        private readonly CancellationTokenSource _stopAccepting;
        private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _accepted;
        private int _active;
        private int _stopped;
        private int _hangUps;
        private int _failures;

        public Server(CliIo io, SslContext context, Settings settings, CancellationToken cancellationToken)
        {
            _io = io;
            _context = context;
            _settings = settings;
            _cancellationToken = cancellationToken;
            _stopAccepting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        }

        public async Task RunAsync(Socket listener)
        {
            var loops = new Task[Math.Max(2, Environment.ProcessorCount)];
            for (int i = 0; i < loops.Length; i++)
            {
                loops[i] = AcceptLoopAsync(listener);
            }
            await Task.WhenAll(loops).ConfigureAwait(false);
            Volatile.Write(ref _stopped, 1);
            if (Volatile.Read(ref _active) != 0)
            {
                await _idle.Task.ConfigureAwait(false);
            }
            _stopAccepting.Dispose();
        }

        public string Summary()
        {
            int accepted = Math.Min(_accepted, _settings.Count ?? int.MaxValue);
            string problems = _hangUps + _failures == 0 ? "" : $" ({_hangUps} peer hang-up{(_hangUps == 1 ? "" : "s")}, {_failures} failure{(_failures == 1 ? "" : "s")})";
            return $"served {accepted} connection{(accepted == 1 ? "" : "s")}{problems}";
        }

        private async Task AcceptLoopAsync(Socket listener)
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await listener.AcceptAsync(_stopAccepting.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stopAccepting.IsCancellationRequested)
                {
                    return;
                }
                int number = Interlocked.Increment(ref _accepted);
                if (number > (_settings.Count ?? int.MaxValue))
                {
                    socket.Dispose(); // another loop's accept already made the count
                    return;
                }
                if (number == _settings.Count)
                {
                    _stopAccepting.Cancel();
                }
                Interlocked.Increment(ref _active);
                _ = ServeOneAsync(socket, number);
            }
        }

        private async Task ServeOneAsync(Socket socket, int number)
        {
            // Off the accept loop at once: the handshake's work runs on the thread pool, the loop accepts the next peer.
            await Task.Yield();
            string peer = "";
            try
            {
                peer = Endpoints.Format(socket.RemoteEndPoint);
                socket.NoDelay = true;
                await using var tls = new FastSslStream(new NetworkStream(socket, ownsSocket: true));
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_cancellationToken);
                timeout.CancelAfter(HandshakeTimeout);
                try
                {
                    await tls.AuthenticateAsServerAsync(_context, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"no TLS handshake within {HandshakeTimeout.TotalSeconds:0} s");
                }
                if (!_settings.Quiet)
                {
                    LogConnection(tls, number, peer);
                }
                timeout.CancelAfter(IdleTimeout);
                await (_settings.Http ? AnswerHttpAsync(tls, timeout) : EchoAsync(tls, timeout)).ConfigureAwait(false);
                await tls.ShutdownAsync(_cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsPeerHangUp(e))
            {
                Interlocked.Increment(ref _hangUps);
                if (_settings.Verbose)
                {
                    _io.Error.WriteLine($"fastsession: #{number} from {peer}: peer hung up: {FastSessionTool.OneLine(e.Message)}");
                }
            }
            catch (Exception e) when (e is AuthenticationException or IOException or TimeoutException or OperationCanceledException)
            {
                if (!_cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _failures);
                    _io.Error.WriteLine($"fastsession: #{number} from {peer}: {FastSessionTool.OneLine(e.Message)}");
                }
            }
            finally
            {
                socket.Dispose();
                if (Interlocked.Decrement(ref _active) == 0 && Volatile.Read(ref _stopped) != 0)
                {
                    _idle.TrySetResult();
                }
            }
        }

        /// <summary>Expected on a busy server: the peer reset the connection or closed it before or during the handshake.</summary>
        private static bool IsPeerHangUp(Exception e) => e switch
        {
            SslProtocolException => false,
            SslHandshakeException h => h.Message.StartsWith("The peer closed", StringComparison.Ordinal),
            IOException or SocketException or ObjectDisposedException => true,
            _ => false,
        };

        private void LogConnection(FastSslStream tls, int number, string peer)
        {
            string cipher = "", id = "";
            if (tls.Connection.TryBorrowSession(out SslSessionRef view))
            {
                view.GetInfo(out SslSessionInfo info);
                cipher = info.CipherName;
                id = TlsText.Hex(info.Id);
            }
            _io.Output.WriteLine($"#{number} {(tls.SessionReused ? "Reused" : "New")}, {TlsText.OpenSslName(tls.NegotiatedProtocol)}, Cipher is {cipher}, from {peer}{(id.Length > 0 ? $", session {id}" : "")}" +
                ServeEarlyData.Describe(tls));
        }

        /// <summary>Echoes until the peer closes (close_notify or the transport's end).</summary>
        private static async Task EchoAsync(FastSslStream tls, CancellationTokenSource idle)
        {
            byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                int n;
                while ((n = await tls.ReadAsync(buffer, idle.Token).ConfigureAwait(false)) > 0)
                {
                    await tls.WriteAsync(buffer.AsMemory(0, n), idle.Token).ConfigureAwait(false);
                    idle.CancelAfter(IdleTimeout);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        /// <summary>Reads one request head (to the blank line) and answers it with a small page that says how the session went.</summary>
        private static async Task AnswerHttpAsync(FastSslStream tls, CancellationTokenSource idle)
        {
            byte[] buffer = ArrayPool<byte>.Shared.Rent(8 * 1024);
            try
            {
                int length = 0;
                while (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) < 0)
                {
                    if (length == buffer.Length)
                    {
                        throw new IOException("the HTTP request head is larger than 8 KB");
                    }
                    int n = await tls.ReadAsync(buffer.AsMemory(length), idle.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        return; // the peer closed without a request: nothing to answer
                    }
                    length += n;
                }
                string body = $"fastsession serve: {(tls.SessionReused ? "Reused" : "New")}, {TlsText.OpenSslName(tls.NegotiatedProtocol)}\n";
                string response = $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
                int size = Encoding.ASCII.GetBytes(response, buffer);
                await tls.WriteAsync(buffer.AsMemory(0, size), idle.Token).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
