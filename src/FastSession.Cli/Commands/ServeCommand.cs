using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Cli.Commands;

/// <summary>
/// <c>fastsession serve</c>: a TLS echo server on FastSslStream. Logs New/Reused per connection; exits after
/// <c>--count</c> connections when given (else on Ctrl+C).
/// </summary>
internal static class ServeCommand
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    public sealed record Settings(string Accept, string? CertificateFile, string? KeyFile, TlsVersion? Version, bool NoTickets, int? Count, FleetServeSettings? Fleet = null);

    public static Command Create(CliIo io)
    {
        var accept = new Option<string>("--accept") { Description = "Address and port to listen on (port 0 picks a free one).", DefaultValueFactory = _ => "127.0.0.1:4433" };
        var cert = new Option<string?>("--cert") { Description = "Certificate (chain) PEM file; without it an ephemeral self-signed ECDSA P-256 one is made." };
        var key = new Option<string?>("--key") { Description = "Private key PEM file (with --cert)." };
        var tls = new Option<string?>("--tls") { Description = "Only this protocol: 1.2 or 1.3 (default: both)." };
        tls.AcceptOnlyFromAmong("1.2", "1.3");
        var noTickets = new Option<bool>("--no-tickets") { Description = "Disable session tickets (TLS 1.2 then resumes by session id only)." };
        var count = new Option<int?>("--count") { Description = "Exit after this many connections." };
        var command = new Command("serve", "TLS echo server; logs New/Reused per connection.");
        command.Options.Add(accept);
        command.Options.Add(cert);
        command.Options.Add(key);
        command.Options.Add(tls);
        command.Options.Add(noTickets);
        command.Options.Add(count);
        Func<ParseResult, FleetServeSettings> fleet = FleetOptions.AddToServe(command);
        command.SetAction((parse, ct) => RunAsync(io, new Settings(
            parse.GetValue(accept)!, parse.GetValue(cert), parse.GetValue(key), TlsText.ParseOption(parse.GetValue(tls)),
            parse.GetValue(noTickets), parse.GetValue(count), fleet(parse)), ct));
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
        SslContext context;
        try
        {
            context = SslContext.CreateServer(options);
        }
        catch (ArgumentException e)
        {
            throw CliException.Usage($"cannot use the certificate and key: {e.Message}");
        }
        using (context)
        {
            using var resumption = new ServeResumptionSummary(io.Output); // observe: prints the resumption summary on exit
            await using IAsyncDisposable? fleetKeys = await FleetOptions.AttachServeAsync(settings.Fleet, context, io).ConfigureAwait(false);
            var listener = new TcpListener(endPoint);
            try
            {
                listener.Start();
            }
            catch (SocketException e)
            {
                throw CliException.Failure($"cannot listen on {settings.Accept}: {e.Message}");
            }
            try
            {
                string protocols = settings.Version is { } v ? TlsText.OpenSslName(v) : "TLSv1.2-TLSv1.3";
                io.Output.WriteLine($"listening on {Endpoints.Format(listener.LocalEndpoint)} ({protocols}, tickets {(settings.NoTickets ? "off" : "on")}{(settings.Count is { } n ? $", {n} connection{(n == 1 ? "" : "s")}" : "")})");
                await io.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                var connections = new List<Task>();
                int accepted = 0;
                while (settings.Count is null || accepted < settings.Count)
                {
                    TcpClient client;
                    try
                    {
                        client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }
                    accepted++;
                    connections.Add(ServeOneAsync(io, context, client, accepted, cancellationToken));
                    connections.RemoveAll(static t => t.IsCompleted);
                }
                await Task.WhenAll(connections).ConfigureAwait(false);
                io.Output.WriteLine($"served {accepted} connection{(accepted == 1 ? "" : "s")}");
                return ExitCodes.Ok;
            }
            finally
            {
                listener.Stop();
            }
        }
    }

    private static async Task ServeOneAsync(CliIo io, SslContext context, TcpClient client, int number, CancellationToken cancellationToken)
    {
        string peer = Endpoints.Format(client.Client.RemoteEndPoint);
        using (client)
        {
            client.NoDelay = true;
            await using var tls = new FastSslStream(client.GetStream());
            try
            {
                using (var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    handshakeTimeout.CancelAfter(HandshakeTimeout);
                    try
                    {
                        await tls.AuthenticateAsServerAsync(context, handshakeTimeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw new TimeoutException($"no TLS handshake within {HandshakeTimeout.TotalSeconds:0} s");
                    }
                }
                SslConnection connection = tls.Connection;
                string cipher = "";
                string id = "";
                if (connection.TryBorrowSession(out SslSessionRef view))
                {
                    view.GetInfo(out SslSessionInfo info);
                    cipher = info.CipherName;
                    id = TlsText.Hex(info.Id);
                }
                io.Output.WriteLine($"#{number} {(tls.SessionReused ? "Reused" : "New")}, {TlsText.OpenSslName(tls.NegotiatedProtocol)}, Cipher is {cipher}, from {peer}{(id.Length > 0 ? $", session {id}" : "")}");

                // Echo until the peer closes (close_notify or EOF), then close cleanly.
                byte[] buffer = new byte[16 * 1024];
                long echoed = 0;
                while (true)
                {
                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    idle.CancelAfter(IdleTimeout);
                    int n = await tls.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }
                    await tls.WriteAsync(buffer.AsMemory(0, n), idle.Token).ConfigureAwait(false);
                    echoed += n;
                }
                try
                {
                    await tls.ShutdownAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // The peer may have closed the socket right after its close_notify.
                }
            }
            catch (Exception e) when (e is AuthenticationException or IOException or SocketException or TimeoutException or OperationCanceledException or ObjectDisposedException)
            {
                if (!cancellationToken.IsCancellationRequested)
                {
                    io.Error.WriteLine($"fastsession: #{number} from {peer}: {FastSessionTool.OneLine(e.Message)}");
                }
            }
        }
    }
}
