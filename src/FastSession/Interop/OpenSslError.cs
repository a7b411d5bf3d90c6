using System;
using System.Text;

namespace FastSession.Interop;

/// <summary>Turns OpenSSL's thread-local error queue into messages a user can act on.</summary>
internal static class OpenSslError
{
    /// <summary>Pops every queued error (ERR_get_error) and returns the earliest one's reason, or null.</summary>
    internal static string? DrainQueue(out ulong firstCode)
    {
        firstCode = ErrorNative.ErrGetError();
        if (firstCode == 0)
        {
            return null;
        }
        string reason = Describe(firstCode);
        while (ErrorNative.ErrGetError() != 0)
        {
            // Later entries are context for the first; dropping them keeps the queue clean for the next call.
        }
        return reason;
    }

    /// <summary>ERR_error_string_n for one code.</summary>
    internal static string Describe(ulong code)
    {
        if (code == 0)
        {
            return "no OpenSSL error was queued";
        }
        Span<byte> buffer = stackalloc byte[256];
        int length = ErrorNative.ErrErrorStringN(code, buffer, buffer.Length);
        return Encoding.ASCII.GetString(buffer[..Math.Clamp(length, 0, 255)]);
    }

    /// <summary>The queued reason, or a fallback naming the failed operation.</summary>
    internal static string ReasonOr(string operation)
    {
        string? reason = DrainQueue(out _);
        return reason is null ? $"{operation} failed" : $"{operation} failed: {reason}";
    }
}
