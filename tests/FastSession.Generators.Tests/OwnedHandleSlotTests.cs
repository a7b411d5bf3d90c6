using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using FastSession.Interop;

namespace FastSession.Generators.Tests
{
    /// <summary>
    /// Runtime behaviour of the slot protocol, compiled from the very template the generator emits
    /// (linked into this assembly), driven with a managed free function that counts frees.
    /// </summary>
    public sealed unsafe class OwnedHandleSlotTests
    {
        // Fake pointers are small integers; Frees[p] counts the frees of p.
        private const int PointerSpace = 1 << 16;
        private static readonly int[] Frees = new int[PointerSpace + 1];

        private struct SingleTag
        {
        }

        private struct ReuseTag
        {
        }

        private struct RaceTag
        {
        }

        private struct AllocationTag
        {
        }

        private struct FinalizerTag
        {
        }

        private struct BoundTag
        {
        }

        [Fact]
        public void DoubleDisposeAndDisposeOfACopy_FreeExactlyOnce()
        {
            nint pointer = Fresh(1);
            Handle<SingleTag> handle = Handle<SingleTag>.Rent(pointer);
            Handle<SingleTag> copy = handle;

            Assert.True(handle.Slot!.Dispose(handle.Generation));
            Assert.False(handle.Slot.Dispose(handle.Generation));
            Assert.False(copy.Slot!.Dispose(copy.Generation));

            Assert.Equal(1, Frees[pointer]);
            Assert.True(copy.Slot.IsDisposed(copy.Generation));
        }

        [Fact]
        public void UseAfterDispose_ThrowsObjectDisposedException()
        {
            nint pointer = Fresh(2);
            Handle<SingleTag> handle = Handle<SingleTag>.Rent(pointer);
            Assert.Equal(pointer, handle.Slot!.GetPointerUnleased(handle.Generation));
            handle.Slot.Dispose(handle.Generation);

            var entered = Assert.Throws<ObjectDisposedException>(() => handle.Slot.Enter(handle.Generation));
            Assert.Equal(nameof(SingleTag), entered.ObjectName);
            Assert.Throws<ObjectDisposedException>(() => handle.Slot.GetPointerUnleased(handle.Generation));
            Assert.Equal("SingleTag(disposed)", handle.Slot.Describe(handle.Generation));
            Assert.Equal(1, Frees[pointer]);
        }

        [Fact]
        public void DisposeDuringALease_FreesWhenTheLastLeaseEnds()
        {
            nint pointer = Fresh(3);
            Handle<SingleTag> handle = Handle<SingleTag>.Rent(pointer);
            Assert.Equal("SingleTag(0x" + ((long)pointer).ToString("X") + ")", handle.Slot!.Describe(handle.Generation));

            Assert.Equal(pointer, handle.Slot.Enter(handle.Generation));
            Assert.Equal(pointer, handle.Slot.Enter(handle.Generation));
            Assert.True(handle.Slot.Dispose(handle.Generation));
            Assert.Equal(0, Frees[pointer]);
            handle.Slot.Exit();
            Assert.Equal(0, Frees[pointer]);
            handle.Slot.Exit();
            Assert.Equal(1, Frees[pointer]);
        }

        [Fact]
        public void StaleCopy_CannotReachTheNextRentalOfItsSlot()
        {
            nint first = Fresh(4);
            nint second = Fresh(5);
            Handle<ReuseTag> stale = Handle<ReuseTag>.Rent(first);
            stale.Slot!.Dispose(stale.Generation);

            Handle<ReuseTag> next = Handle<ReuseTag>.Rent(second);
            Assert.Same(stale.Slot, next.Slot); // pooled on this thread
            Assert.NotEqual(stale.Generation, next.Generation);

            Assert.Throws<ObjectDisposedException>(() => stale.Slot.Enter(stale.Generation));
            Assert.False(stale.Slot.Dispose(stale.Generation));
            Assert.True(stale.Slot.IsDisposed(stale.Generation));
            Assert.False(next.Slot!.IsDisposed(next.Generation));
            Assert.Equal(second, next.Slot.Enter(next.Generation));
            next.Slot.Exit();
            Assert.Equal(0, Frees[second]);

            next.Slot.Dispose(next.Generation);
            Assert.Equal(1, Frees[first]);
            Assert.Equal(1, Frees[second]);
        }

        [Fact]
        public void ConcurrentEnterAndDispose_FreeExactlyOncePerRental_AndNeverUnderALease()
        {
            // Another thread leases the current handle in a loop (and tries a stale copy of the
            // previous one) while this thread disposes it at a random moment; repeated for about a
            // second. Two threads: the test machines have two cores.
            const int Base = 1000;
            var failures = new ConcurrentQueue<string>();
            using var barrier = new Barrier(2);
            var stop = false;
            Handle<RaceTag> current = default;
            Handle<RaceTag> previous = default;
            nint currentPointer = 0;
            int leasing = 0; // set by the enterer once it holds leases in its loop

            void Enterer()
            {
                while (true)
                {
                    barrier.SignalAndWait();
                    if (Volatile.Read(ref stop))
                    {
                        return;
                    }

                    Handle<RaceTag> handle = current;
                    Handle<RaceTag> old = previous;
                    nint expected = currentPointer;
                    try
                    {
                        while (true)
                        {
                            nint leased = handle.Slot!.Enter(handle.Generation);
                            if (leased != expected)
                            {
                                failures.Enqueue($"leased {leased}, expected {expected}");
                            }

                            if (Volatile.Read(ref Frees[expected]) != 0)
                            {
                                failures.Enqueue($"pointer {expected} freed under a lease");
                            }

                            handle.Slot.Exit();
                            Volatile.Write(ref leasing, 1);
                        }
                    }
                    catch (ObjectDisposedException)
                    {
                    }

                    if (old.Slot is not null)
                    {
                        try
                        {
                            old.Slot.Enter(old.Generation);
                            failures.Enqueue("a stale copy entered");
                            old.Slot.Exit();
                        }
                        catch (ObjectDisposedException)
                        {
                        }
                    }

                    barrier.SignalAndWait();
                }
            }

            var threads = new[] { new Thread(Enterer) };
            foreach (Thread thread in threads)
            {
                thread.Start();
            }

            var random = new Random(12345);
            var clock = Stopwatch.StartNew();
            int rentals = 0;
            int contested = 0; // rentals disposed while the other thread was leasing them
            for (int i = 0; ; i++)
            {
                nint pointer = Fresh(Base + (i % (PointerSpace - Base)));
                previous = current;
                current = Handle<RaceTag>.Rent(pointer);
                currentPointer = pointer;
                // At least one second, and until the race was really exercised (a loaded CI machine may
                // schedule the two threads so that few rentals overlap), but never more than 30 s.
                bool done = (clock.ElapsedMilliseconds > 1000 && contested >= 10) || clock.ElapsedMilliseconds > 30_000;
                Volatile.Write(ref stop, done);
                barrier.SignalAndWait();
                if (done)
                {
                    current.Slot!.Dispose(current.Generation);
                    break;
                }

                // Dispose while the other thread is in its lease loop, at a random point of it.
                var waited = Stopwatch.StartNew();
                SpinWait spinner = default;
                while (Volatile.Read(ref leasing) == 0 && waited.ElapsedMilliseconds < 100)
                {
                    spinner.SpinOnce(sleep1Threshold: -1);
                }

                contested += Volatile.Read(ref leasing);

                Volatile.Write(ref leasing, 0);
                Thread.SpinWait(random.Next(0, 100));
                Handle<RaceTag> copy = current;
                if (!current.Slot!.Dispose(current.Generation) || copy.Slot!.Dispose(copy.Generation))
                {
                    failures.Enqueue("dispose did not win exactly once");
                }

                barrier.SignalAndWait();
                rentals++;
                if (Frees[pointer] != 1)
                {
                    failures.Enqueue($"pointer {pointer} freed {Frees[pointer]} times");
                }
            }

            foreach (Thread thread in threads)
            {
                thread.Join();
            }

            Assert.True(failures.IsEmpty, string.Join("\n", failures));
            // The machine may be loaded (shared CI cores): ask for evidence of contention, not a rate.
            Assert.True(contested >= 10, $"only {contested} of {rentals} rentals were disposed during a lease loop");
        }

        [Fact]
        public void SteadyStateRentLeaseAndDispose_AllocatesNothing()
        {
            for (int i = 0; i < 100; i++)
            {
                RentLeaseDispose(Fresh(2000 + i));
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++)
            {
                RentLeaseDispose(3000 + (i % 1000));
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(0, allocated);

            static void RentLeaseDispose(nint pointer)
            {
                Handle<AllocationTag> handle = Handle<AllocationTag>.Rent(pointer);
                handle.Slot!.Enter(handle.Generation);
                handle.Slot.Exit();
                handle.Slot.Dispose(handle.Generation);
            }
        }

        [Fact]
        public void HandleDroppedWithoutDispose_IsFreedByTheFinalizer()
        {
            nint pointer = Fresh(6);
            WeakReference slot = RentAndDrop(pointer);
            for (int i = 0; i < 5 && Volatile.Read(ref Frees[pointer]) == 0; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            Assert.False(slot.IsAlive);
            Assert.Equal(1, Frees[pointer]);

            [MethodImpl(MethodImplOptions.NoInlining)]
            static WeakReference RentAndDrop(nint pointer) => new(Handle<FinalizerTag>.Rent(pointer).Slot);
        }

        [Fact]
        public void ManyOutstandingHandles_AreEachFreedOnce_AndThePoolStaysBounded()
        {
            var handles = new Handle<BoundTag>[200];
            for (int i = 0; i < handles.Length; i++)
            {
                handles[i] = Handle<BoundTag>.Rent(Fresh(10_000 + i));
            }

            foreach (Handle<BoundTag> handle in handles)
            {
                handle.Slot!.Dispose(handle.Generation);
            }

            for (int i = 0; i < handles.Length; i++)
            {
                Assert.Equal(1, Frees[10_000 + i]);
            }

            Assert.True(OwnedHandlePool<BoundTag>.ThreadCachedCount <= 8);
        }

        private static nint Fresh(int pointer)
        {
            Volatile.Write(ref Frees[pointer], 0);
            return pointer;
        }

        private static void CountingFree(nint pointer) => Interlocked.Increment(ref Frees[pointer]);

        /// <summary>What a generated owned handle holds: (slot, generation).</summary>
        private readonly struct Handle<TTag>
            where TTag : struct
        {
            public readonly OwnedHandleSlot? Slot;
            public readonly long Generation;

            private Handle(OwnedHandleSlot slot, long generation)
            {
                Slot = slot;
                Generation = generation;
            }

            public static Handle<TTag> Rent(nint pointer)
            {
                OwnedHandleSlot slot = OwnedHandlePool<TTag>.Rent(pointer, &CountingFree, out long generation);
                return new Handle<TTag>(slot, generation);
            }
        }
    }
}
