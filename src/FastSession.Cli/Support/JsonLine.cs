using System;
using System.Buffers;
using System.IO;
using System.Text;
using System.Text.Json;

namespace FastSession.Cli;

/// <summary>Writes one JSON object per line with <see cref="Utf8JsonWriter"/> (no reflection: NativeAOT-friendly).</summary>
internal static class JsonLine
{
    public static void Write(TextWriter output, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    /// <summary>The session fields shared by <c>connect</c> and <c>inspect</c>.</summary>
    public static void WriteSession(Utf8JsonWriter json, in SslSessionInfo info)
    {
        json.WriteString("protocol", TlsText.OpenSslName(info.Protocol));
        json.WriteString("cipher", info.CipherName);
        json.WriteString("cipher_suite", $"0x{info.CipherSuite:X4}");
        json.WriteBoolean("resumable", info.IsResumable);
        json.WriteString("session_id", TlsText.Hex(info.Id));
        json.WriteBoolean("has_ticket", info.HasTicket);
        json.WriteNumber("ticket_lifetime_hint", info.TicketLifetimeHint);
        json.WriteNumber("time", info.Time.ToUnixTimeSeconds());
        json.WriteNumber("timeout", (long)info.Timeout.TotalSeconds);
        if (info.ServerName is { } sni)
        {
            json.WriteString("server_name", sni);
        }
        else
        {
            json.WriteNull("server_name");
        }
        if (info.ApplicationProtocol is { } alpn)
        {
            json.WriteString("alpn", alpn);
        }
        else
        {
            json.WriteNull("alpn");
        }
    }
}
