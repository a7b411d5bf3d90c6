using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Cli.Bench;

namespace FastSession.Cli.Commands;

/// <summary>
/// <c>fastsession bench</c>: full and resumed handshakes per second and managed bytes allocated per handshake, FastSession
/// (FastSslStream) and .NET's SslStream side by side over the same transport and the same connection script.
/// </summary>
internal static class BenchCommand
{
    private static readonly TimeSpan ConnectionTimeout = TimeSpan.FromSeconds(15);

    public sealed record Settings(TlsVersion? Version, string Transport, double Seconds, bool Json);

    public static Command Create(CliIo io)
    {
        var tls = new Option<string?>("--tls") { Description = "Protocol: 1.2 or 1.3 (default: both)." };
        tls.AcceptOnlyFromAmong("1.2", "1.3");
        var transport = new Option<string>("--transport") { Description = "memory (in-process stream pair) or tcp (loopback sockets).", DefaultValueFactory = _ => "memory" };
        transport.AcceptOnlyFromAmong("memory", "tcp");
        var seconds = new Option<double>("--seconds") { Description = "Length of each measurement, in seconds.", DefaultValueFactory = _ => 1.0 };
        var json = new Option<bool>("--json") { Description = "One JSON object per line per measurement." };
        var command = new Command("bench", "Full and resumed handshakes per second and bytes allocated per handshake: FastSession vs SslStream.");
        command.Options.Add(tls);
        command.Options.Add(transport);
        command.Options.Add(seconds);
        command.Options.Add(json);
        command.SetAction((parse, ct) => RunAsync(io, new Settings(
            TlsText.ParseOption(parse.GetValue(tls)), parse.GetValue(transport)!, parse.GetValue(seconds), parse.GetValue(json)), ct));
        return command;
    }

    public static async Task<int> RunAsync(CliIo io, Settings settings, CancellationToken cancellationToken)
    {
        if (!(settings.Seconds > 0) || settings.Seconds > 3600)
        {
            throw CliException.Usage("--seconds must be more than 0 and at most 3600.");
        }
        TlsVersion[] versions = settings.Version is { } v ? new[] { v } : new[] { TlsVersion.Tls12, TlsVersion.Tls13 };
        using BenchTransport transport = BenchTransport.Create(settings.Transport);
        var results = new List<Result>();
        var references = new List<ReferenceResult>();
        string? missing = null;
        using CReference? c = transport.Name == "memory" ? CReference.TryLoad(out missing) : null;
        using SessionTimeReference? sTime = transport.Name == "tcp" ? new SessionTimeReference() : null;
        if (transport.Name == "memory" && c is null)
        {
            io.Error.WriteLine($"fastsession: warning: no C reference: {missing}");
        }
        foreach (TlsVersion version in versions)
        {
            using var fast = new FastSessionContender(version);
            using var sslStream = new SslStreamContender(version);
            foreach (bool resumed in new[] { false, true })
            {
                foreach (Contender contender in new Contender[] { fast, sslStream })
                {
                    Result result = await MeasureAsync(io, contender, transport, version, resumed, settings.Seconds, cancellationToken).ConfigureAwait(false);
                    results.Add(result);
                    if (settings.Json)
                    {
                        JsonLine.Write(io.Output, w =>
                        {
                            w.WriteString("impl", result.Impl);
                            w.WriteString("transport", transport.Name);
                            w.WriteString("protocol", TlsText.Short(version));
                            w.WriteString("mode", resumed ? "resumed" : "full");
                            w.WriteNumber("handshakes_per_sec", Math.Round(result.PerSecond, 1));
                            w.WriteNumber("allocated_bytes_per_handshake", Math.Round(result.AllocatedEach));
                            w.WriteNumber("handshakes", result.Count);
                            w.WriteNumber("seconds", Math.Round(result.Seconds, 3));
                            if (result.Reused is { } reused)
                            {
                                w.WriteNumber("reused", reused);
                            }
                            else
                            {
                                w.WriteNull("reused");
                            }
                        });
                        await io.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }
                    if (resumed && result.Reused is { } r && r < result.Count)
                    {
                        io.Error.WriteLine($"fastsession: warning: {result.Count - r} of {result.Count} {result.Impl} handshakes meant to resume were full handshakes.");
                    }
                }
                foreach (ReferenceResult reference in await MeasureReferencesAsync(c, sTime, version, resumed, settings.Seconds, cancellationToken).ConfigureAwait(false))
                {
                    references.Add(reference);
                    if (settings.Json)
                    {
                        WriteReferenceJson(io, transport.Name, reference);
                    }
                }
            }
        }
        if (!settings.Json)
        {
            PrintTable(io, transport.Name, settings.Seconds, results);
            PrintReferences(io, results, references);
        }
        return ExitCodes.Ok;
    }

    /// <summary>Memory: the C loop. TCP: openssl s_time against openssl s_server and against fastsession serve.</summary>
    private static async Task<ReferenceResult[]> MeasureReferencesAsync(CReference? c, SessionTimeReference? sTime, TlsVersion version, bool resumed, double seconds, CancellationToken cancellationToken)
    {
        if (c is not null)
        {
            return new[] { c.Measure(version, resumed, seconds) };
        }
        if (sTime is null)
        {
            return Array.Empty<ReferenceResult>();
        }
        (ReferenceResult openssl, ReferenceResult serve) = await sTime.MeasureAsync(version, resumed, seconds, cancellationToken).ConfigureAwait(false);
        return new[] { openssl, serve };
    }

    private static void WriteReferenceJson(CliIo io, string transport, ReferenceResult reference) => JsonLine.Write(io.Output, w =>
    {
        w.WriteString("impl", reference.Impl);
        w.WriteString("driver", reference.Driver);
        w.WriteString("transport", transport);
        w.WriteString("protocol", TlsText.Short(reference.Version));
        w.WriteString("mode", reference.Resumed ? "resumed" : "full");
        w.WriteNumber("handshakes_per_sec", Math.Round(reference.PerSecond, 1));
        w.WriteNull("allocated_bytes_per_handshake");
        w.WriteNumber("handshakes", reference.Count);
        w.WriteNumber("seconds", Math.Round(reference.Seconds, 3));
        if (reference.Note is { } note)
        {
            w.WriteString("note", note);
        }
    });

    private static void PrintReferences(CliIo io, List<Result> results, List<ReferenceResult> references)
    {
        if (references.Count == 0)
        {
            return;
        }
        io.Output.WriteLine();
        io.Output.WriteLine("References in the same run (C: the memory-BIO loop of bench/native with SSL_clear reuse; s_time: openssl s_time -www / against each server):");
        var table = new Table("protocol", "mode", "reference", "hs/s", "fastsession", "ratio").AlignRight(3, 4, 5);
        foreach (ReferenceResult reference in references)
        {
            // C is compared with FastSslStream over memory; s_server with fastsession serve under the same s_time.
            double fast = reference.Impl == "c"
                ? results.Find(r => r.Impl == "fastsession" && r.Version == reference.Version && r.Resumed == reference.Resumed).PerSecond
                : references.Find(r => r.Impl == "fastsession-serve" && r.Version == reference.Version && r.Resumed == reference.Resumed).PerSecond;
            if (reference.Impl == "fastsession-serve")
            {
                continue;
            }
            table.Add(TlsText.OpenSslName(reference.Version), reference.Resumed ? "resumed" : "full",
                reference.Impl == "c" ? "C (cbench)" : "openssl s_server (s_time)",
                reference.PerSecond.ToString("N0", CultureInfo.InvariantCulture),
                fast.ToString("N0", CultureInfo.InvariantCulture) + (reference.Impl == "c" ? " (FastSslStream)" : " (serve)"),
                reference.PerSecond > 0 ? (fast / reference.PerSecond).ToString("0.00", CultureInfo.InvariantCulture) + "x" : "-");
        }
        table.WriteTo(io.Output);
    }

    private static void PrintTable(CliIo io, string transport, double seconds, List<Result> results)
    {
        io.Output.WriteLine($"Handshakes over {transport} transport ({seconds.ToString("0.##", CultureInfo.InvariantCulture)} s per measurement; " +
            "each connection: handshake, 1 byte server->client, close_notify both ways):");
        var table = new Table("protocol", "mode", "fastsession hs/s", "sslstream hs/s", "ratio", "fastsession B/hs", "sslstream B/hs").AlignRight(2, 3, 4, 5, 6);
        for (int i = 0; i + 1 < results.Count; i += 2)
        {
            Result fast = results[i], ssl = results[i + 1];
            table.Add(TlsText.OpenSslName(fast.Version), fast.Resumed ? "resumed" : "full",
                fast.PerSecond.ToString("N0", CultureInfo.InvariantCulture),
                ssl.PerSecond.ToString("N0", CultureInfo.InvariantCulture),
                ssl.PerSecond > 0 ? (fast.PerSecond / ssl.PerSecond).ToString("0.00", CultureInfo.InvariantCulture) + "x" : "-",
                fast.AllocatedEach.ToString("N0", CultureInfo.InvariantCulture),
                ssl.AllocatedEach.ToString("N0", CultureInfo.InvariantCulture));
        }
        table.WriteTo(io.Output);
        io.Output.WriteLine("Allocated bytes: managed bytes allocated in this process per connection, client and server side together.");
    }

    private static async Task<Result> MeasureAsync(CliIo io, Contender contender, BenchTransport transport, TlsVersion version, bool resumed, double seconds, CancellationToken cancellationToken)
    {
        string label = $"{contender.Name} {transport.Name} {TlsText.OpenSslName(version)} {(resumed ? "resumed" : "full")}";
        // One deadline for the whole measurement (a per-connection timer would be counted as the contenders' allocations).
        TimeSpan limit = TimeSpan.FromSeconds(seconds) + ConnectionTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        try
        {
            return await MeasureCoreAsync(io, label, contender, transport, version, resumed, seconds, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the {label} measurement did not finish within {limit.TotalSeconds:0} s");
        }
    }

    private static async Task<Result> MeasureCoreAsync(CliIo io, string label, Contender contender, BenchTransport transport, TlsVersion version, bool resumed, double seconds, CancellationToken cancellationToken)
    {
        // Warm-up: JIT, pools, and in resumed mode the first session to resume from.
        for (int i = 0; i < 5; i++)
        {
            await OneConnectionAsync(contender, transport, resumed, cancellationToken).ConfigureAwait(false);
        }
        int count = 0, reused = 0;
        bool knowsReuse = true;
        long budget = (long)(seconds * Stopwatch.Frequency);
        long nextProgress = 0;
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        long elapsed;
        do
        {
            bool? r = await OneConnectionAsync(contender, transport, resumed, cancellationToken).ConfigureAwait(false);
            count++;
            if (r is null)
            {
                knowsReuse = false;
            }
            else if (r.Value)
            {
                reused++;
            }
            elapsed = Stopwatch.GetTimestamp() - start;
            if (io.Interactive && elapsed >= nextProgress)
            {
                io.Error.Write($"\rbench: {label}: {count} handshakes, {elapsed * 100 / budget}%   ");
                nextProgress = elapsed + Stopwatch.Frequency / 5;
            }
        }
        while (elapsed < budget);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        if (io.Interactive)
        {
            io.Error.Write("\r" + new string(' ', label.Length + 40) + "\r");
        }
        double taken = (double)elapsed / Stopwatch.Frequency;
        return new Result(contender.Name, version, resumed, count, taken, count / taken, (double)allocated / count, knowsReuse ? reused : null);
    }

    private static async Task<bool?> OneConnectionAsync(Contender contender, BenchTransport transport, bool resumed, CancellationToken cancellationToken)
    {
        (System.IO.Stream client, System.IO.Stream server) = await transport.ConnectAsync(cancellationToken).ConfigureAwait(false);
        Task serverTask = contender.RunServerAsync(server, cancellationToken);
        Task<bool?> clientTask = contender.RunClientAsync(client, resumed, transport.Port, cancellationToken);
        Task first = await Task.WhenAny(serverTask, clientTask).ConfigureAwait(false);
        if (!first.IsCompletedSuccessfully)
        {
            // One side failed: close both transports so the other side stops waiting.
            await client.DisposeAsync().ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
        }
        try
        {
            await Task.WhenAll(serverTask, clientTask).ConfigureAwait(false);
        }
        catch when (!first.IsCompletedSuccessfully)
        {
            await first.ConfigureAwait(false); // Report the side that failed first.
            throw;
        }
        return await clientTask.ConfigureAwait(false);
    }

    private readonly record struct Result(string Impl, TlsVersion Version, bool Resumed, int Count, double Seconds, double PerSecond, double AllocatedEach, int? Reused);
}
