using System.CommandLine;
using System.IO;

namespace FastSession.Cli.Commands;

/// <summary><c>serve --cafile FILE --verify</c>: require client certificates issued by the CAs of FILE (mutual TLS).</summary>
internal static class ServeClientCertificates
{
    public static (Option<string?> CaFile, Option<bool> Verify) AddOptions(Command command)
    {
        var caFile = new Option<string?>("--cafile") { Description = "CA certificates (PEM) that client certificates must chain to (with --verify)." };
        var verify = new Option<bool>("--verify") { Description = "Require a client certificate that verifies against --cafile (mutual TLS)." };
        command.Options.Add(caFile);
        command.Options.Add(verify);
        return (caFile, verify);
    }

    public static void Apply(SslServerOptions options, ServeCommand.Settings settings)
    {
        if (settings.Verify != (settings.CaFile is not null))
        {
            throw CliException.Usage("--verify needs --cafile (the CAs client certificates must chain to), and --cafile is only used with --verify.");
        }
        if (!settings.Verify)
        {
            return;
        }
        if (!File.Exists(settings.CaFile))
        {
            throw CliException.Usage($"--cafile '{settings.CaFile}' does not exist.");
        }
        options.ClientCertificateMode = SslClientCertificateMode.RequireCertificate;
        options.TrustedCertificatesFile = settings.CaFile;
    }
}
