using System;

namespace FastSession.Cli;

/// <summary>Protocol names as the tool prints them.</summary>
internal static class TlsText
{
    /// <summary>OpenSSL's spelling (<c>SSL_get_version</c>, <c>openssl sess_id -text</c>): "TLSv1.3".</summary>
    public static string OpenSslName(TlsVersion version) => version switch
    {
        TlsVersion.Tls12 => "TLSv1.2",
        TlsVersion.Tls13 => "TLSv1.3",
        TlsVersion.None => "none",
        _ => $"0x{(int)version:X4}",
    };

    /// <summary>The short spelling of the --tls option: "1.3".</summary>
    public static string Short(TlsVersion version) => version switch
    {
        TlsVersion.Tls12 => "1.2",
        TlsVersion.Tls13 => "1.3",
        _ => OpenSslName(version),
    };

    /// <summary>Parses the --tls option ("1.2" or "1.3"; null means both).</summary>
    public static TlsVersion? ParseOption(string? value) => value switch
    {
        null => null,
        "1.2" or "tls1.2" or "TLSv1.2" => TlsVersion.Tls12,
        "1.3" or "tls1.3" or "TLSv1.3" => TlsVersion.Tls13,
        _ => throw CliException.Usage($"--tls '{value}' is not a protocol this tool speaks; use 1.2 or 1.3."),
    };

    public static void Apply(SslContextOptions options, TlsVersion? version)
    {
        if (version is { } v)
        {
            options.MinVersion = v;
            options.MaxVersion = v;
        }
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

    public static string YesNo(bool value) => value ? "yes" : "no";
}
