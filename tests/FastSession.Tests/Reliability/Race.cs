using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Threading;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Runs one owner thread against reader threads for a bounded time (issue #10's race classes). The owner drives
/// objects through their lifetime (handshake, shutdown, reset, dispose); readers hammer the public read API of
/// whatever the owner last published. Only the exceptions the API documents for a reader are allowed
/// (<see cref="InvalidOperationException"/> for a stale/empty view or a connection busy on another thread,
/// <see cref="ObjectDisposedException"/>); anything else — and of course a signal or a sanitizer report, which
/// ends the process — fails the test.
/// </summary>
/// <remarks>FASTSESSION_RACE_SECONDS sets the duration of each race (default 2 s, so the normal suite stays short).</remarks>
internal static class Race
{
    public static TimeSpan Duration
    {
        get
        {
            string? value = Environment.GetEnvironmentVariable("FASTSESSION_RACE_SECONDS");
            double seconds = string.IsNullOrEmpty(value) ? 2 : Math.Max(0.2, double.Parse(value, CultureInfo.InvariantCulture));
            return TimeSpan.FromSeconds(seconds);
        }
    }

    public sealed class Result
    {
        public long OwnerRounds;
        public long ReaderOperations;
        public long DocumentedRefusals;
        public readonly ConcurrentQueue<string> Errors = new();

        public override string ToString() =>
            $"{OwnerRounds} owner rounds, {ReaderOperations} reader operations ({DocumentedRefusals} refused with a documented exception), {Errors.Count} errors";
    }

    /// <summary>
    /// Runs <paramref name="ownerRound"/> repeatedly on one thread and <paramref name="read"/> repeatedly on
    /// <paramref name="readers"/> threads, until <see cref="Duration"/> has passed.
    /// </summary>
    public static Result Run(Action ownerRound, Action read, int readers = 1)
    {
        var result = new Result();
        var stop = new ManualResetEventSlim();
        var threads = new Thread[readers + 1];
        threads[0] = new Thread(() =>
        {
            var clock = Stopwatch.StartNew();
            try
            {
                while (clock.Elapsed < Duration)
                {
                    ownerRound();
                    result.OwnerRounds++;
                }
            }
            catch (Exception e)
            {
                // Readers never make the owner fail: exclusive calls wait out reader leases.
                result.Errors.Enqueue("owner: " + e);
            }
            finally
            {
                stop.Set();
            }
        });
        for (int r = 1; r <= readers; r++)
        {
            threads[r] = new Thread(() =>
            {
                long operations = 0, refusals = 0;
                while (!stop.IsSet)
                {
                    try
                    {
                        read();
                    }
                    catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
                    {
                        refusals++;
                    }
                    catch (Exception e)
                    {
                        result.Errors.Enqueue("reader: " + e);
                    }
                    operations++;
                }
                Interlocked.Add(ref result.ReaderOperations, operations);
                Interlocked.Add(ref result.DocumentedRefusals, refusals);
            });
        }
        foreach (Thread thread in threads)
        {
            thread.IsBackground = true;
            thread.Start();
        }
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
        return result;
    }
}
