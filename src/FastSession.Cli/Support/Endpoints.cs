using System;
using System.Globalization;
using System.Net;

namespace FastSession.Cli;

/// <summary>Parses "HOST:PORT", "[IPv6]:PORT" and "IP:PORT".</summary>
internal static class Endpoints
{
    public static (string Host, int Port) ParseHostPort(string value, string what)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw CliException.Usage($"{what} is empty; expected HOST:PORT.");
        }
        string host;
        string portText;
        if (value.StartsWith('['))
        {
            int close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= value.Length || value[close + 1] != ':')
            {
                throw CliException.Usage($"{what} '{value}' is not HOST:PORT (IPv6 addresses go in brackets: [::1]:4433).");
            }
            host = value[1..close];
            portText = value[(close + 2)..];
        }
        else
        {
            int colon = value.LastIndexOf(':');
            if (colon <= 0 || value.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                throw CliException.Usage($"{what} '{value}' is not HOST:PORT (IPv6 addresses go in brackets: [::1]:4433).");
            }
            host = value[..colon];
            portText = value[(colon + 1)..];
        }
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            throw CliException.Usage($"{what} '{value}' has no valid port (0-65535).");
        }
        if (host.Length == 0)
        {
            throw CliException.Usage($"{what} '{value}' has no host.");
        }
        return (host, port);
    }

    public static IPEndPoint ParseListen(string value)
    {
        (string host, int port) = ParseHostPort(value, "--accept");
        if (host is "*" or "0.0.0.0")
        {
            return new IPEndPoint(IPAddress.Any, port);
        }
        if (host == "localhost")
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }
        if (!IPAddress.TryParse(host, out IPAddress? address))
        {
            throw CliException.Usage($"--accept '{value}' needs an IP address to listen on (or localhost, or *).");
        }
        return new IPEndPoint(address, port);
    }

    public static string Format(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint { Address.AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } ip => $"[{ip.Address}]:{ip.Port}",
        IPEndPoint ip => $"{ip.Address}:{ip.Port}",
        null => "?",
        _ => endPoint.ToString() ?? "?",
    };
}
