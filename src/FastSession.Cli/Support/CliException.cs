using System;

namespace FastSession.Cli;

/// <summary>A failure the tool reports as one line on stderr with a chosen exit code (see <see cref="ExitCodes"/>).</summary>
public sealed class CliException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CliException(int exitCode, string message) : base(message) => ExitCode = exitCode;

    /// <summary>The process exit code.</summary>
    public int ExitCode { get; }

    /// <summary>Bad input: exit code 2.</summary>
    public static CliException Usage(string message) => new(ExitCodes.Usage, message);

    /// <summary>A TLS or network failure: exit code 1.</summary>
    public static CliException Failure(string message) => new(ExitCodes.Failure, message);
}

/// <summary>The tool's exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>A TLS or network failure.</summary>
    public const int Failure = 1;

    /// <summary>Usage error or bad input (a bad file, malformed PEM).</summary>
    public const int Usage = 2;
}
