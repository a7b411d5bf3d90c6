using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli.Commands;

namespace FastSession.Cli.Bench;

/// <summary>A reference rate measured in the same run as the contenders: the C loop, or a server under <c>openssl s_time</c>.</summary>
internal readonly record struct ReferenceResult(string Impl, string Driver, TlsVersion Version, bool Resumed, long Count, double Seconds, string? Note)
{
    public double PerSecond => Seconds > 0 ? Count / Seconds : 0;
}

/// <summary>
/// The C reference (bench/native/cbench.c built as libfastsession_cbench.so): OpenSSL handshakes over memory BIOs through the
/// same shim calls, connection objects reused with <c>SSL_clear</c> — what FastSslStream over memory is measured against.
/// Loaded from <c>$FASTSESSION_CBENCH_LIB</c>, else <c>artifacts/cbench/libfastsession_cbench.so</c> above the current or the
/// tool's directory (bench/run.sh builds it; so does <c>cmake -S bench/native -B artifacts/cbench &amp;&amp; cmake --build artifacts/cbench</c>).
/// </summary>
internal sealed unsafe class CReference : IDisposable
{
    private const string FileName = "libfastsession_cbench.so";
    private readonly delegate* unmanaged<int, int, int, nint> _open;
    private readonly delegate* unmanaged<nint, long, void> _run;
    private readonly delegate* unmanaged<nint, void> _close;

    private CReference(nint library)
    {
        _open = (delegate* unmanaged<int, int, int, nint>)NativeLibrary.GetExport(library, "cbench_handshake_open");
        _run = (delegate* unmanaged<nint, long, void>)NativeLibrary.GetExport(library, "cbench_handshake_run");
        _close = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "cbench_handshake_close");
    }

    /// <summary>The library, or null with the reason it is not there.</summary>
    public static CReference? TryLoad(out string? missing)
    {
        string? path = Environment.GetEnvironmentVariable("FASTSESSION_CBENCH_LIB");
        if (string.IsNullOrEmpty(path))
        {
            path = Find(Environment.CurrentDirectory) ?? Find(AppContext.BaseDirectory);
        }
        if (path is not null && File.Exists(path) && NativeLibrary.TryLoad(path, out nint library))
        {
            missing = null;
            return new CReference(library);
        }
        missing = $"{FileName} not found (build it: cmake -S bench/native -B artifacts/cbench && cmake --build artifacts/cbench, or set FASTSESSION_CBENCH_LIB)";
        return null;
    }

    /// <summary>Resumed or full handshakes with connection reuse for about <paramref name="seconds"/>.</summary>
    public ReferenceResult Measure(TlsVersion version, bool resumed, double seconds)
    {
        nint state = _open((int)version, resumed ? 1 : 0, 1);
        if (state == 0)
        {
            throw new InvalidOperationException("the C reference could not set up its handshakes");
        }
        try
        {
            _run(state, 5); // warm-up, like the contenders'
            long count = 0, batch = 8, budget = (long)(seconds * Stopwatch.Frequency);
            long start = Stopwatch.GetTimestamp();
            long elapsed;
            do
            {
                _run(state, batch);
                count += batch;
                elapsed = Stopwatch.GetTimestamp() - start;
            }
            while (elapsed < budget);
            return new ReferenceResult("c", "cbench", version, resumed, count, (double)elapsed / Stopwatch.Frequency, null);
        }
        finally
        {
            _close(state);
        }
    }

    // Never unloaded: the library links OpenSSL, whose exit handlers must find it mapped.
    public void Dispose()
    {
    }

    private static string? Find(string from)
    {
        for (DirectoryInfo? dir = new(from); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "artifacts", "cbench", FileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}

/// <summary>
/// <c>openssl s_time -www /</c> (<c>-new</c> and <c>-reuse</c>) against <c>openssl s_server -www</c> and against
/// <c>fastsession serve --http</c> (in this process), same certificate, same protocol, one after the other.
/// </summary>
internal sealed class SessionTimeReference : IDisposable
{
    private static readonly Regex s_connections = new(@"^(\d+) connections in \d+ real seconds", RegexOptions.Multiline);
    private readonly string _directory;
    private readonly string _certificateFile;
    private readonly string _keyFile;

    public SessionTimeReference()
    {
        _directory = Directory.CreateTempSubdirectory("fastsession-bench-").FullName;
        using X509Certificate2 certificate = SslStreamContender.CreateCertificate();
        using ECDsa key = certificate.GetECDsaPrivateKey()!;
        _certificateFile = Path.Combine(_directory, "cert.pem");
        _keyFile = Path.Combine(_directory, "key.pem");
        File.WriteAllText(_certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(_keyFile, key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>s_time against openssl s_server, then against fastsession serve; full (-new) or resumed (-reuse).</summary>
    public async Task<(ReferenceResult OpenSsl, ReferenceResult FastSession)> MeasureAsync(TlsVersion version, bool resumed, double seconds, CancellationToken cancellationToken)
    {
        int port = FreePort();
        string protocol = version == TlsVersion.Tls12 ? "-tls1_2" : "-tls1_3";
        using Process server = Start("s_server", "-accept", $"127.0.0.1:{port}", "-cert", _certificateFile, "-key", _keyFile, protocol, "-www", "-quiet");
        try
        {
            await WaitUntilListeningAsync(port, cancellationToken).ConfigureAwait(false);
            ReferenceResult openssl = await TimeAsync("openssl-s_server", port, protocol, version, resumed, seconds, null, cancellationToken).ConfigureAwait(false);
            return (openssl, await TimeServeAsync(protocol, version, resumed, seconds, cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            server.Kill();
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<ReferenceResult> TimeServeAsync(string protocol, TlsVersion version, bool resumed, double seconds, CancellationToken cancellationToken)
    {
        var options = new SslServerOptions
        {
            MinVersion = version,
            MaxVersion = version,
            CertificatePem = await File.ReadAllTextAsync(_certificateFile, cancellationToken).ConfigureAwait(false),
            PrivateKeyPem = await File.ReadAllTextAsync(_keyFile, cancellationToken).ConfigureAwait(false),
        };
        using SslContext context = SslContext.CreateServer(options);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1024);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var settings = new ServeCommand.Settings("", null, null, version, NoTickets: false, Count: null, Http: true, Quiet: true);
        Task<string> serve = ServeCommand.ServeAsync(new CliIo(TextWriter.Null, TextWriter.Null, false), context, settings, listener, stop.Token);
        ReferenceResult result;
        try
        {
            result = await TimeAsync("fastsession-serve", ((IPEndPoint)listener.LocalEndPoint!).Port, protocol, version, resumed, seconds, null, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            stop.Cancel();
        }
        return result with { Note = await serve.ConfigureAwait(false) };
    }

    private static async Task<ReferenceResult> TimeAsync(string impl, int port, string protocol, TlsVersion version, bool resumed, double seconds, string? note, CancellationToken cancellationToken)
    {
        int whole = Math.Max(1, (int)Math.Ceiling(seconds));
        long start = Stopwatch.GetTimestamp();
        using Process client = Start("s_time", "-connect", $"127.0.0.1:{port}", "-www", "/", resumed ? "-reuse" : "-new", protocol, "-time", whole.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Task<string> output = client.StandardOutput.ReadToEndAsync(cancellationToken);
        _ = client.StandardError.ReadToEndAsync(cancellationToken);
        await client.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        MatchCollection matches = s_connections.Matches(await output.ConfigureAwait(false));
        if (matches.Count == 0)
        {
            throw new IOException($"openssl s_time against {impl} printed no result (exit {client.ExitCode})");
        }
        long connections = long.Parse(matches[^1].Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        // Wall time of the s_time process (its "real seconds" are whole seconds): the same start-up cost for both servers.
        return new ReferenceResult(impl, "s_time", version, resumed, connections, elapsed, note);
    }

    private static Process Start(string command, params string[] arguments)
    {
        var info = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        info.ArgumentList.Add(command);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        try
        {
            return Process.Start(info) ?? throw new IOException("openssl did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"cannot run openssl {command}: {e.Message}");
        }
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task WaitUntilListeningAsync(int port, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + 10_000;
        while (true)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (SocketException) when (Environment.TickCount64 < deadline)
            {
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
