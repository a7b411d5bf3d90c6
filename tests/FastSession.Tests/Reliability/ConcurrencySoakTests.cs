using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Concurrency soak (issue 7): shared contexts — one server and one client context per protocol (TLS 1.3 with
/// tickets, TLS 1.2 with session ids in the server's internal cache) — and one shared
/// <see cref="SslClientSessionCache"/>, driven from every core at once by
/// <list type="bullet">
/// <item>TCP clients over loopback (<see cref="FastSslStream"/> against a <see cref="FastSslStream"/> echo server),
/// resuming through the cache;</item>
/// <item>in-memory workers (<see cref="SslMemoryPipe"/>, <see cref="SslConnection.Reset"/> reuse);</item>
/// <item>an exporter that takes sessions out of the cache, exports them (DER, PEM), re-imports them and puts the
/// copies back;</item>
/// <item>peers that abort mid-handshake and mid-record, on both sides.</item>
/// </list>
/// Every connection also borrows (get0) and acquires (get1) its session and round-trips some through DER/PEM.
/// Afterwards: no unexpected exception anywhere, live OpenSSL objects back at baseline, ≥ 90% of the connections
/// that were given a cached session resumed, and the process RSS growth stays within a generous bound.
/// </summary>
/// <remarks>FASTSESSION_SOAK_SECONDS sets the duration (default 20 s).</remarks>
public sealed class ConcurrencySoakTests : LiveObjectTest
{
    private const int DefaultSeconds = 20;
    private const int MessageSize = 512;
    private const double MinimumResumptionRate = 0.90;
    private const long MaxRssGrowthKb = 256 * 1024;

    private readonly ITestOutputHelper _output;

    public ConcurrencySoakTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task SharedContextsAndCache_UnderConcurrentLoadWithAborts_ResumeAndLeakNothing()
    {
        int seconds = SoakSeconds();
        long rssBeforeKb = ReadVmRssKb();
        LiveObjectCounts baseline = LiveObjectCounts.Current;

        Soak.Report report;
        using (var soak = new Soak(seconds, seed: 0x50A4))
        {
            report = await soak.RunAsync();
        }

        CollectGarbage();
        LiveObjectCounts after = LiveObjectCounts.Current;
        long rssAfterKb = ReadVmRssKb();
        long growthKb = rssAfterKb - rssBeforeKb;

        _output.WriteLine(report.Summary);
        _output.WriteLine($"live objects: baseline {baseline}, after {after}");
        _output.WriteLine($"RSS: {rssBeforeKb / 1024.0:F1} MB before, {rssAfterKb / 1024.0:F1} MB after, growth {growthKb / 1024.0:F1} MB (peak during run {report.PeakRssKb / 1024.0:F1} MB)");
        foreach (string error in report.Errors)
        {
            _output.WriteLine("ERROR: " + error);
        }

        Assert.True(report.Errors.Count == 0, $"{report.Errors.Count} unexpected failure(s):\n{string.Join("\n", report.Errors)}");
        Assert.Equal(baseline, after);
        Assert.True(report.Connections >= seconds * 5, $"only {report.Connections} connections completed in {seconds} s");
        Assert.True(report.AttemptsWithCachedSession >= 20, $"only {report.AttemptsWithCachedSession} connections were given a cached session");
        Assert.True(report.ResumptionRate >= MinimumResumptionRate,
            $"resumption rate {report.ResumptionRate:P1} ({report.Resumed} of {report.AttemptsWithCachedSession} attempts with a cached session) is below {MinimumResumptionRate:P0}");
        Assert.True(report.ServerObservedFailures <= report.ClientAbortsPlanned,
            $"servers saw {report.ServerObservedFailures} failed connections but clients aborted only {report.ClientAbortsPlanned}");
        Assert.True(growthKb < MaxRssGrowthKb, $"RSS grew by {growthKb / 1024} MB");
    }

    private static int SoakSeconds()
    {
        string? value = Environment.GetEnvironmentVariable("FASTSESSION_SOAK_SECONDS");
        return string.IsNullOrEmpty(value) ? DefaultSeconds : Math.Max(1, int.Parse(value, CultureInfo.InvariantCulture));
    }

    internal static long ReadVmRssKb()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    private static void CollectGarbage()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        GC.Collect();
    }

    /// <summary>The soak itself: contexts, cache, listeners, workers and their counters.</summary>
    private sealed class Soak : IDisposable
    {
        private static readonly TimeSpan ConnectionTimeout = TimeSpan.FromSeconds(15);

        private readonly int _seconds;
        private readonly int _seed;
        private readonly SslContext _server13, _client13, _server12, _client12;
        private readonly SslClientSessionCache _cache = new(capacity: 256, perKey: 8);
        private readonly TcpListener _listener13, _listener12, _listenerAbort;
        private readonly ConcurrentQueue<string> _errors = new();
        private readonly ConcurrentBag<Task> _serverTasks = new();
        private readonly CancellationTokenSource _stop = new();

        private long _tcpConnections, _memoryConnections, _tcpResumed, _memoryResumed, _memoryHits, _exporterHits;
        private long _clientAbortHandshake, _clientAbortRecord, _serverAbortHandshake, _serverAbortRecord;
        private long _serverObservedFailures, _clientObservedPlannedFailures, _notResumableAtSetSession;
        private long _borrowed, _acquired, _exported, _reimported, _established, _resets;
        private long _peakRssKb;

        public Soak(int seconds, int seed)
        {
            _seconds = seconds;
            _seed = seed;
            _server13 = SslContext.CreateServer(new SslServerOptions { MinVersion = TlsVersion.Tls13, MaxVersion = TlsVersion.Tls13, TicketCount = 2 });
            // Verification stays on: each client trusts exactly its server's ephemeral certificate (CN=localhost).
            _client13 = SslContext.CreateClient(new SslClientOptions { MinVersion = TlsVersion.Tls13, MaxVersion = TlsVersion.Tls13, UseSystemTrustStore = false, TrustedCertificatesPem = _server13.GetCertificatePem() });
            _server12 = SslContext.CreateServer(new SslServerOptions { MinVersion = TlsVersion.Tls12, MaxVersion = TlsVersion.Tls12, EnableTickets = false });
            _client12 = SslContext.CreateClient(new SslClientOptions { MinVersion = TlsVersion.Tls12, MaxVersion = TlsVersion.Tls12, EnableTickets = false, UseSystemTrustStore = false, TrustedCertificatesPem = _server12.GetCertificatePem() });
            SessionEstablishedHandler handler = (connection, session) =>
            {
                Interlocked.Increment(ref _established);
                _cache.OnSessionEstablished(connection, session);
            };
            _client13.SessionEstablished = handler;
            _client12.SessionEstablished = handler;
            _listener13 = Listen();
            _listener12 = Listen();
            _listenerAbort = Listen();
        }

        internal sealed record Report(
            string Summary, IReadOnlyList<string> Errors, long Connections, long Resumed, long AttemptsWithCachedSession,
            double ResumptionRate, long ServerObservedFailures, long ClientAbortsPlanned, long PeakRssKb);

        private int Port13 => ((IPEndPoint)_listener13.LocalEndpoint).Port;
        private int Port12 => ((IPEndPoint)_listener12.LocalEndpoint).Port;
        private int PortAbort => ((IPEndPoint)_listenerAbort.LocalEndpoint).Port;

        public async Task<Report> RunAsync()
        {
            var clock = Stopwatch.StartNew();
            DateTime deadline = DateTime.UtcNow.AddSeconds(_seconds);
            Task[] acceptors =
            {
                AcceptLoopAsync(_listener13, s => ServeTlsAsync(s, _server13)),
                AcceptLoopAsync(_listener12, s => ServeTlsAsync(s, _server12)),
                AcceptLoopAsync(_listenerAbort, ServeAbortAsync),
            };

            var workers = new List<Task>();
            int tcpWorkers = Math.Max(2, Environment.ProcessorCount);
            for (int i = 0; i < tcpWorkers; i++)
            {
                int id = i;
                workers.Add(Task.Run(() => TcpWorkerAsync(id, deadline)));
            }
            int memoryWorkers = Math.Max(2, Environment.ProcessorCount);
            for (int i = 0; i < memoryWorkers; i++)
            {
                int id = i;
                workers.Add(Task.Factory.StartNew(() => MemoryWorker(id, deadline), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
            }
            workers.Add(Task.Run(() => ExporterAsync(deadline)));

            await Task.WhenAll(workers);
            _stop.Cancel();
            _listener13.Stop();
            _listener12.Stop();
            _listenerAbort.Stop();
            await Task.WhenAll(acceptors);
            await Task.WhenAll(_serverTasks.ToArray());
            clock.Stop();

            SslSessionCacheStatistics stats = _cache.Statistics;
            long connections = _tcpConnections + _memoryConnections;
            long resumed = _tcpResumed + _memoryResumed;
            long attempts = stats.Hits - _exporterHits;
            double rate = attempts == 0 ? 0 : (double)resumed / attempts;
            string summary = string.Create(CultureInfo.InvariantCulture,
                $"soak {clock.Elapsed.TotalSeconds:F1} s on {Environment.ProcessorCount} cores: {connections:N0} completed handshakes " +
                $"({_tcpConnections:N0} TCP, {_memoryConnections:N0} in-memory; {_resets:N0} via Reset reuse); " +
                $"resumed {resumed:N0} of {attempts:N0} connections given a cached session = {rate:P2} " +
                $"(TCP {_tcpResumed:N0}/{attempts - _memoryHits:N0}, memory {_memoryResumed:N0}/{_memoryHits:N0}); " +
                $"cached session no longer resumable at SetSession: {_notResumableAtSetSession}; " +
                $"aborts planned: client mid-handshake {_clientAbortHandshake}, client mid-record {_clientAbortRecord}, " +
                $"server mid-handshake {_serverAbortHandshake}, server mid-record {_serverAbortRecord}; " +
                $"failures seen by servers {_serverObservedFailures}, by clients (planned) {_clientObservedPlannedFailures}; " +
                $"sessions established {_established:N0}, borrowed {_borrowed:N0}, acquired {_acquired:N0}, " +
                $"exported+re-imported {_exported:N0}/{_reimported:N0}; cache {stats}");
            return new Report(summary, _errors.ToArray(), connections, resumed, attempts, rate, _serverObservedFailures,
                _clientAbortHandshake + _clientAbortRecord, Interlocked.Read(ref _peakRssKb));
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener13.Stop();
            _listener12.Stop();
            _listenerAbort.Stop();
            _cache.Dispose();
            _client13.Dispose();
            _client12.Dispose();
            _server13.Dispose();
            _server12.Dispose();
            _stop.Dispose();
        }

        private static TcpListener Listen()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start(backlog: 128);
            return listener;
        }

        private void Error(string what, Exception? e = null) =>
            _errors.Enqueue(e is null ? what : $"{what}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");

        private void NoteRss()
        {
            long rss = ReadVmRssKb();
            long peak;
            while (rss > (peak = Interlocked.Read(ref _peakRssKb)) && Interlocked.CompareExchange(ref _peakRssKb, rss, peak) != peak)
            {
            }
        }

        // ---- Servers ---------------------------------------------------------------------------------

        private async Task AcceptLoopAsync(TcpListener listener, Func<Socket, Task> serve)
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
                _serverTasks.Add(Task.Run(() => serve(socket)));
            }
        }

        /// <summary>A FastSslStream echo-style server: reads one request, answers it (or, when asked, dies mid-record).</summary>
        private async Task ServeTlsAsync(Socket socket, SslContext context)
        {
            using var timeout = new CancellationTokenSource(ConnectionTimeout);
            using (socket)
            {
                socket.NoDelay = true;
                var transport = new TruncatingStream(socket);
                await using var tls = new FastSslStream(transport);
                try
                {
                    await tls.AuthenticateAsServerAsync(context, timeout.Token);
                }
                catch (Exception e) when (e is SslHandshakeException or IOException)
                {
                    Interlocked.Increment(ref _serverObservedFailures);
                    return;
                }
                catch (Exception e)
                {
                    Error("server handshake", e);
                    return;
                }

                try
                {
                    InspectSessions(tls.Connection, context, exportEvery: 8, Random.Shared.Next());
                    byte[] request = new byte[MessageSize];
                    int got = await ReadUpToAsync(tls, request, timeout.Token);
                    if (got < MessageSize)
                    {
                        // The client died mid-record (or before sending): an unclean close on our side too.
                        Interlocked.Increment(ref _serverObservedFailures);
                        return;
                    }
                    byte[] reply = new byte[MessageSize];
                    reply.AsSpan().Fill((byte)'r');
                    if (request[0] == (byte)'R')
                    {
                        transport.TruncateNextWrite(Random.Shared.Next(1, 40));
                        try
                        {
                            await tls.WriteAsync(reply, timeout.Token);
                            Error("server: the truncated reply write did not fail");
                        }
                        catch (IOException)
                        {
                        }
                        return;
                    }
                    await tls.WriteAsync(reply, timeout.Token);
                    int closing = await tls.ReadAsync(request, timeout.Token);
                    if (closing != 0)
                    {
                        Error($"server: expected close_notify, read {closing} bytes");
                        return;
                    }
                    await tls.ShutdownAsync(timeout.Token);
                }
                catch (IOException)
                {
                    // A client that aborted mid-record.
                    Interlocked.Increment(ref _serverObservedFailures);
                }
                catch (Exception e)
                {
                    Error("server connection", e);
                }
            }
        }

        /// <summary>A peer that dies mid-handshake: reads part of the ClientHello, maybe answers garbage, closes.</summary>
        private async Task ServeAbortAsync(Socket socket)
        {
            using (socket)
            {
                try
                {
                    byte[] buffer = new byte[64];
                    using var timeout = new CancellationTokenSource(ConnectionTimeout);
                    _ = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                    if (Random.Shared.Next(2) == 0)
                    {
                        await socket.SendAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray(), SocketFlags.None, timeout.Token);
                    }
                    socket.Shutdown(SocketShutdown.Both);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                }
            }
        }

        // ---- TCP clients ----------------------------------------------------------------------------

        private async Task TcpWorkerAsync(int id, DateTime deadline)
        {
            var random = new Random(_seed * 31 + id);
            while (DateTime.UtcNow < deadline)
            {
                bool tls12 = random.Next(10) < 3;
                int roll = random.Next(100);
                try
                {
                    if (roll < 5)
                    {
                        await ClientAbortsHandshakeAsync(random, tls12);
                    }
                    else if (roll < 10)
                    {
                        await ClientAbortsRecordAsync(random, tls12);
                    }
                    else if (roll < 15)
                    {
                        await ServerAbortsHandshakeAsync(tls12);
                    }
                    else
                    {
                        await NormalTcpConnectionAsync(random, tls12, serverAbortsRecord: roll < 20);
                    }
                }
                catch (Exception e)
                {
                    Error($"TCP client {id}", e);
                }
                if ((id & 1) == 0 && random.Next(16) == 0)
                {
                    NoteRss();
                }
            }
        }

        private async Task<Socket> ConnectAsync(int port, CancellationToken token)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, port, token);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        private async Task NormalTcpConnectionAsync(Random random, bool tls12, bool serverAbortsRecord)
        {
            using var timeout = new CancellationTokenSource(ConnectionTimeout);
            int port = tls12 ? Port12 : Port13;
            SslContext context = tls12 ? _client12 : _client13;
            using Socket socket = await ConnectAsync(port, timeout.Token);
            await using var tls = new FastSslStream(new TruncatingStream(socket));
            await tls.AuthenticateAsClientAsync(context, "localhost", port, _cache, null, timeout.Token);
            Interlocked.Increment(ref _tcpConnections);
            if (tls.SessionReused)
            {
                Interlocked.Increment(ref _tcpResumed);
            }
            InspectSessions(tls.Connection, context, exportEvery: 4, random.Next());

            byte[] request = new byte[MessageSize];
            request.AsSpan().Fill((byte)'q');
            request[0] = serverAbortsRecord ? (byte)'R' : (byte)'N';
            await tls.WriteAsync(request, timeout.Token);
            byte[] reply = new byte[MessageSize];
            if (serverAbortsRecord)
            {
                Interlocked.Increment(ref _serverAbortRecord);
                try
                {
                    int partial = await ReadUpToAsync(tls, reply, timeout.Token);
                    if (partial == MessageSize)
                    {
                        Error("client: a reply the server cut short arrived whole");
                    }
                }
                catch (IOException)
                {
                }
                Interlocked.Increment(ref _clientObservedPlannedFailures);
                return; // unclean close: OpenSSL marks this connection's session non-resumable (S8)
            }
            int got = await ReadUpToAsync(tls, reply, timeout.Token);
            if (got != MessageSize || reply[0] != (byte)'r')
            {
                Error($"client: reply of {got} bytes");
                return;
            }
            await tls.ShutdownAsync(timeout.Token);
            int closing = await tls.ReadAsync(reply, timeout.Token);
            if (closing != 0)
            {
                Error($"client: expected close_notify, read {closing} bytes");
            }
        }

        /// <summary>Sends part (or all) of the ClientHello over a raw socket, then hangs up.</summary>
        private async Task ClientAbortsHandshakeAsync(Random random, bool tls12)
        {
            Interlocked.Increment(ref _clientAbortHandshake);
            using var timeout = new CancellationTokenSource(ConnectionTimeout);
            SslContext context = tls12 ? _client12 : _client13;
            using Socket socket = await ConnectAsync(tls12 ? Port12 : Port13, timeout.Token);
            using SslConnection connection = context.CreateConnection("localhost");
            byte[] output = new byte[16 * 1024];
            SslIoResult hello = connection.Handshake(default, output);
            Assert.Equal(SslStatus.NeedsInput, hello.Status);
            int send = random.Next(3) == 0 ? hello.OutputBytes : random.Next(1, hello.OutputBytes);
            await socket.SendAsync(output.AsMemory(0, send), SocketFlags.None, timeout.Token);
            if (send == hello.OutputBytes)
            {
                // Let the server answer, then vanish in the middle of its flight.
                _ = await socket.ReceiveAsync(output.AsMemory(0, 100), SocketFlags.None, timeout.Token);
            }
            socket.Shutdown(SocketShutdown.Both);
        }

        /// <summary>Completes a handshake, then sends only part of the first record and hangs up.</summary>
        private async Task ClientAbortsRecordAsync(Random random, bool tls12)
        {
            Interlocked.Increment(ref _clientAbortRecord);
            using var timeout = new CancellationTokenSource(ConnectionTimeout);
            SslContext context = tls12 ? _client12 : _client13;
            using Socket socket = await ConnectAsync(tls12 ? Port12 : Port13, timeout.Token);
            var transport = new TruncatingStream(socket);
            await using var tls = new FastSslStream(transport);
            await tls.AuthenticateAsClientAsync(context, "localhost", default, timeout.Token);
            InspectSessions(tls.Connection, context, exportEvery: 2, random.Next());
            transport.TruncateNextWrite(random.Next(0, 200));
            try
            {
                await tls.WriteAsync(new byte[MessageSize], timeout.Token);
                Error("client: the truncated request write did not fail");
            }
            catch (IOException)
            {
            }
        }

        /// <summary>Connects to a "server" that reads a little of the ClientHello and hangs up (sometimes after garbage).</summary>
        private async Task ServerAbortsHandshakeAsync(bool tls12)
        {
            Interlocked.Increment(ref _serverAbortHandshake);
            using var timeout = new CancellationTokenSource(ConnectionTimeout);
            using Socket socket = await ConnectAsync(PortAbort, timeout.Token);
            await using var tls = new FastSslStream(new NetworkStream(socket, ownsSocket: false));
            try
            {
                await tls.AuthenticateAsClientAsync(tls12 ? _client12 : _client13, "localhost", default, timeout.Token);
                Error("client: a handshake with a peer that hung up succeeded");
            }
            catch (Exception e) when (e is SslHandshakeException or IOException)
            {
                Interlocked.Increment(ref _clientObservedPlannedFailures);
            }
        }

        // ---- In-memory workers ----------------------------------------------------------------------

        private void MemoryWorker(int id, DateTime deadline)
        {
            var random = new Random(_seed * 17 + id);
            var pipe = new SslMemoryPipe();
            byte[] toServer = new byte[64 * 1024], toClient = new byte[64 * 1024], plain = new byte[64 * 1024];
            byte[] data = new byte[MessageSize];
            SslConnection? reusedClient12 = null, reusedServer12 = null;
            try
            {
                while (DateTime.UtcNow < deadline)
                {
                    bool tls12 = random.Next(10) < 4;
                    SslContext client = tls12 ? _client12 : _client13;
                    SslContext server = tls12 ? _server12 : _server13;
                    var key = new SslSessionCacheKey("memory.test", tls12 ? 12 : 13);
                    int roll = random.Next(100);
                    try
                    {
                        if (roll < 5)
                        {
                            // Abort mid-handshake: the server sees part of the ClientHello, or the client part of the server's flight.
                            Interlocked.Increment(ref _clientAbortHandshake);
                            Interlocked.Increment(ref _serverObservedFailures);
                            using SslConnection c = client.CreateConnection("localhost");
                            using SslConnection s = server.CreateConnection();
                            SslIoResult r = c.Handshake(default, toServer);
                            SslIoResult sr = s.Handshake(toServer.AsSpan(0, random.Next(1, r.OutputBytes + 1)), toClient);
                            if (sr.OutputBytes > 1)
                            {
                                c.Handshake(toClient.AsSpan(0, random.Next(1, sr.OutputBytes)), toServer);
                            }
                            continue;
                        }
                        if (roll < 10)
                        {
                            // Abort mid-record after a completed handshake.
                            Interlocked.Increment(ref _clientAbortRecord);
                            Interlocked.Increment(ref _serverObservedFailures);
                            using SslConnection c = client.CreateConnection("localhost");
                            using SslConnection s = server.CreateConnection();
                            pipe.Handshake(c, s);
                            SslIoResult w = c.Write(data, toServer);
                            SslIoResult rr = s.Read(toServer.AsSpan(0, random.Next(1, w.OutputBytes)), plain, toClient);
                            if (rr.Status != SslStatus.NeedsInput)
                            {
                                Error($"memory: a partial record read gave {rr.Status}");
                            }
                            while (c.TryTakeNewSession(out SslSession extra))
                            {
                                extra.Dispose();
                            }
                            continue;
                        }

                        SslConnection clientConnection, serverConnection;
                        bool reuse = tls12 && roll >= 90;
                        if (reuse)
                        {
                            // SSL_clear reuse (S10): the same pair of objects across many connections.
                            reusedClient12 ??= client.CreateConnection("localhost");
                            reusedServer12 ??= server.CreateConnection();
                            reusedClient12.Reset("localhost");
                            reusedServer12.Reset();
                            clientConnection = reusedClient12;
                            serverConnection = reusedServer12;
                            Interlocked.Increment(ref _resets);
                        }
                        else
                        {
                            clientConnection = client.CreateConnection("localhost");
                            serverConnection = server.CreateConnection();
                        }
                        try
                        {
                            clientConnection.CacheKey = key;
                            if (_cache.TryTake(key, out SslSession cached))
                            {
                                Interlocked.Increment(ref _memoryHits);
                                using (cached)
                                {
                                    try
                                    {
                                        clientConnection.SetSession(cached);
                                    }
                                    catch (Exception e) when (e is ArgumentException or InvalidOperationException && !cached.IsResumable)
                                    {
                                        // Another connection's unclean close marked the shared TLS 1.2 session
                                        // non-resumable after the cache handed it out (S8).
                                        Interlocked.Increment(ref _notResumableAtSetSession);
                                    }
                                }
                            }
                            pipe.Handshake(clientConnection, serverConnection);
                            Interlocked.Increment(ref _memoryConnections);
                            if (clientConnection.SessionReused)
                            {
                                Interlocked.Increment(ref _memoryResumed);
                            }
                            InspectSessions(clientConnection, client, exportEvery: 4, random.Next());
                            InspectSessions(serverConnection, server, exportEvery: 8, random.Next());
                            int echoed = pipe.Send(clientConnection, serverConnection, data, plain);
                            if (echoed != data.Length)
                            {
                                Error($"memory: sent {data.Length}, received {echoed}");
                            }
                            pipe.Shutdown(clientConnection, serverConnection);
                        }
                        finally
                        {
                            if (!reuse)
                            {
                                clientConnection.Dispose();
                                serverConnection.Dispose();
                            }
                        }
                    }
                    catch (Exception e)
                    {
                        Error($"memory worker {id} ({(tls12 ? "TLS 1.2" : "TLS 1.3")})", e);
                    }
                }
            }
            finally
            {
                reusedClient12?.Dispose();
                reusedServer12?.Dispose();
            }
        }

        // ---- Exporter -------------------------------------------------------------------------------

        /// <summary>Takes sessions out of the shared cache, exports and re-imports them, and puts the copies back.</summary>
        private async Task ExporterAsync(DateTime deadline)
        {
            var random = new Random(_seed * 7);
            int round = 0;
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    bool tls12 = random.Next(2) == 0;
                    bool tcp = random.Next(2) == 0;
                    SslContext context = tls12 ? _client12 : _client13;
                    SslSessionCacheKey key = tcp
                        ? new SslSessionCacheKey("localhost", tls12 ? Port12 : Port13)
                        : new SslSessionCacheKey("memory.test", tls12 ? 12 : 13);
                    if (_cache.TryTake(key, out SslSession session))
                    {
                        Interlocked.Increment(ref _exporterHits);
                        using (session)
                        {
                            byte[] der = session.ToDer();
                            string pem = session.ToPem();
                            Interlocked.Increment(ref _exported);
                            SslSession copy = random.Next(2) == 0 ? SslSession.FromDer(der, context) : SslSession.FromPem(pem, context);
                            Interlocked.Increment(ref _reimported);
                            if (!copy.Info.SessionId.Equals(session.Id))
                            {
                                Error("exporter: the re-imported copy has another session id");
                            }
                            _cache.Add(key, copy); // the cache owns the copy now (and disposes it if it is no longer resumable)
                        }
                    }
                    if (++round % 64 == 0)
                    {
                        _cache.RemoveExpired();
                        NoteRss();
                    }
                }
                catch (Exception e)
                {
                    Error("exporter", e);
                }
                await Task.Delay(2);
            }
        }

        // ---- Shared ---------------------------------------------------------------------------------

        /// <summary>get0 view, get1 capture, and every few connections a DER + PEM round trip of the captured session.</summary>
        private void InspectSessions(SslConnection connection, SslContext context, int exportEvery, int dice)
        {
            if (connection.TryBorrowSession(out SslSessionRef view))
            {
                Interlocked.Increment(ref _borrowed);
                view.GetInfo(out SslSessionInfo info);
                // IsResumable may only go from true to false in between: another connection that shares this
                // session (a resumed TLS 1.2 session) can close uncleanly at any moment (S8).
                if (info.Protocol != view.Protocol || info.ContextId != view.ContextId || (!info.IsResumable && view.IsResumable))
                {
                    Error($"borrowed view and its info snapshot disagree: {info.Protocol}/{view.Protocol}, context {info.ContextId}/{view.ContextId}, resumable {info.IsResumable}/{view.IsResumable}");
                }
            }
            if (connection.TryAcquireSession(out SslSession owned))
            {
                Interlocked.Increment(ref _acquired);
                using (owned)
                {
                    if (dice % exportEvery == 0)
                    {
                        byte[] der = owned.ToDer();
                        using SslSession fromDer = SslSession.FromDer(der, context);
                        using SslSession fromPem = SslSession.FromPem(owned.ToPem(), context);
                        if (!der.AsSpan().SequenceEqual(fromPem.ToDer()) || !der.AsSpan().SequenceEqual(fromDer.ToDer()))
                        {
                            Error("DER / PEM round trip changed the session");
                        }
                        Interlocked.Increment(ref _exported);
                        Interlocked.Increment(ref _reimported);
                    }
                }
            }
        }

        private static async Task<int> ReadUpToAsync(Stream stream, byte[] buffer, CancellationToken token)
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = await stream.ReadAsync(buffer.AsMemory(total), token);
                if (n == 0)
                {
                    break;
                }
                total += n;
            }
            return total;
        }
    }
}
