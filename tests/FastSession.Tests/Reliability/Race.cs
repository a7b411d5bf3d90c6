using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using Xunit;

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

    /// <summary>What <see cref="Members"/> did: per-member call counts, errors (undocumented exceptions, at most ~20) and totals.</summary>
    public sealed class MemberRun
    {
        public int Seed;
        public long Operations;
        public long Refusals;
        public TimeSpan Elapsed;
        public readonly ConcurrentDictionary<string, long> Counts = new();
        public readonly ConcurrentQueue<string> Errors = new();

        public override string ToString() =>
            $"seed {Seed}: {Operations} operations in {Elapsed.TotalSeconds:F1} s, {Refusals} refused with a documented exception, {Counts.Count} members";

        /// <summary>"Member count" pairs in name order, for the test's output.</summary>
        public string CountsByName()
        {
            var list = new List<KeyValuePair<string, long>>(Counts);
            list.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            return string.Join(", ", list.ConvertAll(static pair => $"{pair.Key} {pair.Value}"));
        }
    }

    /// <summary>
    /// The any-member harness: <paramref name="threads"/> threads call random members of <paramref name="table"/> on the same
    /// <paramref name="world"/> for <see cref="Duration"/>, each with its own <paramref name="newLocal"/> state. A call works or
    /// throws one of its member's allowed types (a refusal); anything else is recorded as an error naming the member. A thread
    /// still running <paramref name="joinGrace"/> after the duration fails the test with the members in flight (a deadlock).
    /// </summary>
    public static MemberRun Members<TWorld, TLocal>(TWorld world, (string Name, Type[] Allowed, Action<TWorld, TLocal, Random> Op)[] table,
        Func<TLocal> newLocal, int threads, TimeSpan joinGrace)
    {
        var run = new MemberRun { Seed = Environment.TickCount };
        var clock = Stopwatch.StartNew();
        var workers = new Thread[threads];
        string?[] running = new string?[threads];
        for (int t = 0; t < threads; t++)
        {
            int threadSeed = run.Seed + t, index = t;
            workers[t] = new Thread(() =>
            {
                var random = new Random(threadSeed);
                TLocal local = newLocal();
                long ops = 0, refused = 0;
                while (clock.Elapsed < Duration && run.Errors.Count < 20)
                {
                    (string name, Type[] allowed, Action<TWorld, TLocal, Random> op) = table[random.Next(table.Length)];
                    Volatile.Write(ref running[index], name);
                    try
                    {
                        op(world, local, random);
                    }
                    catch (Exception e) when (Array.Exists(allowed, a => a.IsInstanceOfType(e)))
                    {
                        refused++;
                    }
                    catch (Exception e)
                    {
                        run.Errors.Enqueue($"{name}: {e}");
                    }
                    Volatile.Write(ref running[index], null);
                    ops++;
                    run.Counts.AddOrUpdate(name, 1, (_, n) => n + 1);
                }
                Interlocked.Add(ref run.Operations, ops);
                Interlocked.Add(ref run.Refusals, refused);
            })
            { IsBackground = true };
        }
        foreach (Thread worker in workers)
        {
            worker.Start();
        }
        foreach (Thread worker in workers)
        {
            Assert.True(worker.Join(Duration + joinGrace), "a racing thread is stuck (deadlock or hang?) in: " + string.Join(" | ", running));
        }
        run.Elapsed = clock.Elapsed;
        return run;
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
