using System;
using System.CommandLine;
using System.IO;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli.Commands;

namespace FastSession.Cli;

/// <summary>Where a command writes: stdout for results, stderr for diagnostics and progress.</summary>
/// <param name="Output">Results (tables, JSON lines).</param>
/// <param name="Error">One-line diagnostics; progress when <paramref name="Interactive"/>.</param>
/// <param name="Interactive">stderr is a terminal: a progress line may be redrawn on it.</param>
public sealed record CliIo(TextWriter Output, TextWriter Error, bool Interactive);

/// <summary>
/// The <c>fastsession</c> tool, callable in-process (tests) as well as from <c>Main</c>. Exit codes: 0 ok,
/// 1 TLS or network failure, 2 usage or bad input; every failure is one line on stderr, never a stack trace.
/// </summary>
public static class FastSessionTool
{
    /// <summary>Runs the tool with <paramref name="args"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        bool interactive = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
        output = TextWriter.Synchronized(output);
        error = TextWriter.Synchronized(error);
        var io = new CliIo(output, error, interactive);
        try
        {
            RootCommand root = Build(io);
            ParseResult parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                error.WriteLine($"fastsession: {OneLine(parse.Errors[0].Message)}");
                error.WriteLine("Run 'fastsession --help' for usage.");
                return ExitCodes.Usage;
            }
            var configuration = new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
            };
            return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return Report(e, error, cancellationToken);
        }
        finally
        {
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            await error.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static RootCommand Build(CliIo io)
    {
        var root = new RootCommand(
            "fastsession — direct, allocation-free control of OpenSSL 3 TLS sessions. Without a command, runs the demo.");
        Command demo = DemoCommand.Create(io);
        root.Subcommands.Add(demo);
        root.Subcommands.Add(ServeCommand.Create(io));
        root.Subcommands.Add(ConnectCommand.Create(io));
        root.Subcommands.Add(InspectCommand.Create(io));
        root.Subcommands.Add(BenchCommand.Create(io));
        root.SetAction((parse, ct) => DemoCommand.RunAsync(io, ct));
        return root;
    }

    /// <summary>Turns any exception into one stderr line and an exit code.</summary>
    internal static int Report(Exception e, TextWriter error, CancellationToken cancellationToken)
    {
        (int code, string message) = e switch
        {
            CliException c => (c.ExitCode, c.Message),
            OperationCanceledException when cancellationToken.IsCancellationRequested => (ExitCodes.Failure, "cancelled"),
            SslSessionFormatException f => (ExitCodes.Usage, $"bad session data: {f.Message}"),
            AuthenticationException a => (ExitCodes.Failure, $"TLS failure: {a.Message}"),
            SocketException s => (ExitCodes.Failure, $"network failure: {s.Message}"),
            SslProtocolException p => (ExitCodes.Failure, $"TLS failure: {p.Message}"),
            IOException io => (ExitCodes.Failure, $"network failure: {io.Message}"),
            TimeoutException t => (ExitCodes.Failure, $"timed out: {t.Message}"),
            OperationCanceledException => (ExitCodes.Failure, "timed out"),
            _ => (ExitCodes.Failure, $"unexpected error ({e.GetType().Name}): {e.Message}"),
        };
        error.WriteLine($"fastsession: {OneLine(message)}");
        return code;
    }

    // Line breaks, and the tabs System.CommandLine puts between allowed values ("Must be one of: \t'1.2' \t'1.3'"), become single spaces.
    internal static string OneLine(string message) => string.Join(' ', message.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
