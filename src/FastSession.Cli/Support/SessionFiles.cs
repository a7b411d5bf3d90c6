using System;
using System.IO;
using System.Security;

namespace FastSession.Cli;

/// <summary>Reads and writes "SSL SESSION PARAMETERS" PEM files (the format of <c>openssl sess_id</c> and <c>s_client -sess_out</c>).</summary>
internal static class SessionFiles
{
    /// <summary>Loads the session in <paramref name="path"/>, bound to <paramref name="context"/>. Bad files are usage errors (exit 2).</summary>
    public static SslSession Load(string path, SslContext context, string option)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SecurityException or ArgumentException or NotSupportedException)
        {
            throw CliException.Usage($"{option}: cannot read '{path}': {e.Message}");
        }
        try
        {
            return SslSession.FromPem(text, context);
        }
        catch (SslSessionFormatException e)
        {
            throw CliException.Usage($"{option}: '{path}' is not a valid SSL session PEM file: {e.Message}");
        }
    }

    /// <summary>Writes <paramref name="session"/> as PEM to <paramref name="path"/>. A path that cannot be written is a usage error.</summary>
    public static void Save(string path, SslSession session, string option)
    {
        string pem = session.ToPem();
        try
        {
            File.WriteAllText(path, pem);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SecurityException or ArgumentException or NotSupportedException)
        {
            throw CliException.Usage($"{option}: cannot write '{path}': {e.Message}");
        }
    }

    /// <summary>Reads a PEM text file (certificate or key) for <paramref name="option"/>.</summary>
    public static string ReadText(string path, string option)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SecurityException or ArgumentException or NotSupportedException)
        {
            throw CliException.Usage($"{option}: cannot read '{path}': {e.Message}");
        }
    }

    /// <summary>Reads a file's bytes (e.g. the early data of <c>connect --early-data</c>) for <paramref name="option"/>.</summary>
    public static byte[] ReadBytes(string path, string option)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SecurityException or ArgumentException or NotSupportedException)
        {
            throw CliException.Usage($"{option}: cannot read '{path}': {e.Message}");
        }
    }
}
