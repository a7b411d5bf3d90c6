using System.CommandLine;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Cli.Commands;

/// <summary>
/// <c>fastsession inspect FILE [--json]</c>: prints a PEM "SSL SESSION PARAMETERS" file like <c>openssl sess_id -text</c>
/// (the same <c>SSL_SESSION_print</c> text, then FastSession's own view of it), or one JSON object with the field
/// names of <c>connect --json</c>. The master secret (TLS 1.2 "Master-Key", TLS 1.3 "Resumption PSK") is hidden unless
/// <c>--show-secrets</c> asks for it: a terminal or a CI log is not a place for key material.
/// </summary>
internal static partial class InspectCommand
{
    public static Command Create(CliIo io)
    {
        var file = new Argument<string>("FILE") { Description = "A PEM session file (openssl sess_id, s_client -sess_out, fastsession connect --sess-out)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var showSecrets = new Option<bool>("--show-secrets") { Description = "Print the master secret (Master-Key / Resumption PSK) too, as 'openssl sess_id -text' does." };
        var command = new Command("inspect", "Show a PEM session file, like 'openssl sess_id -text'.");
        command.Arguments.Add(file);
        command.Options.Add(json);
        command.Options.Add(showSecrets);
        command.SetAction((parse, ct) => RunAsync(io, parse.GetValue(file)!, parse.GetValue(json), parse.GetValue(showSecrets), ct));
        return command;
    }

    public static Task<int> RunAsync(CliIo io, string path, bool json, bool showSecrets, CancellationToken cancellationToken)
    {
        // The context only decodes the file (sessions are bound to a context); it never connects, so it loads no trust store.
        using SslContext context = SslContext.CreateClient(new SslClientOptions { DangerousAcceptAnyServerCertificate = true });
        using SslSession session = SessionFiles.Load(path, context, "inspect");
        session.GetInfo(out SslSessionInfo info);
        if (json)
        {
            JsonLine.Write(io.Output, w =>
            {
                w.WriteString("file", path);
                JsonLine.WriteSession(w, info);
                w.WriteNumber("max_early_data", info.MaxEarlyData);
            });
            return Task.FromResult(ExitCodes.Ok);
        }
        string text = session.ToText();
        io.Output.Write(showSecrets ? text : HideSecrets(text));
        io.Output.WriteLine();
        var table = new Table("field", "value");
        table.Add("Protocol", TlsText.OpenSslName(info.Protocol));
        table.Add("Cipher", $"{info.CipherName} (0x{info.CipherSuite:X4})");
        table.Add("Session-ID", info.Id.IsEmpty ? "(empty)" : TlsText.Hex(info.Id));
        table.Add("Resumable", TlsText.YesNo(info.IsResumable));
        table.Add("Has ticket", TlsText.YesNo(info.HasTicket));
        table.Add("Ticket lifetime hint", info.TicketLifetimeHint.ToString(CultureInfo.InvariantCulture) + " s");
        table.Add("Established", info.Time.ToString("u", CultureInfo.InvariantCulture));
        table.Add("Expires", info.ExpiresAt.ToString("u", CultureInfo.InvariantCulture));
        table.Add("Server name", info.ServerName ?? "(none)");
        table.Add("ALPN", info.ApplicationProtocol ?? "(none)");
        table.WriteTo(io.Output);
        return Task.FromResult(ExitCodes.Ok);
    }

    // SSL_SESSION_print writes the secret on one line after its label ("    Master-Key: 4F2A...", "    Resumption PSK: ...").
    internal static string HideSecrets(string text) =>
        SecretLine().Replace(text, "$1 (hidden; --show-secrets prints it)");

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\s*(?:Master-Key|Resumption PSK):)[ \t]*[0-9A-Fa-f]*[ \t]*$", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex SecretLine();
}
